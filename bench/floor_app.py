"""The floor under the HTTP benchmark: what the parts every hook call must do cost on their own.

bench_http.py compares the service with hello-world Flask. Two floor apps, under the same server
and the same load, show how much of that gap belongs to work no implementation can skip:

- `answer`: receive the same request, parse its JSON, send back the same card bytes the service
  sends (computed once at start-up). No rules, no cards, no log.
- `answer+log`: the same, plus the decision-log write every call must make before it answers
  (issue 5: decisions are never lost), through the service's own DecisionStore and database: one
  row with this call's consult id, committed.

Whatever the service costs above `answer+log` is the service's own work (validation, red flags,
cards, access log, metrics); the ratio `answer+log`/hello-world is the best any service that keeps
every decision could reach on this machine.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flask import Flask, Response, request

from cds_service.api.routes import SERVICES_KEY, parse_json
from cds_service.app import create_app
from cds_service.hooks.request import HookRequest
from cds_service.hooks.services import find_service
from cds_service.pipeline import consult_id_for, evaluate_call
from cds_service.samples import load_sample, service_id_for
from cds_service.store import get_store


def floor_app(sample: Path, *, log: bool) -> Flask:
    """A Flask app answering POST / with the sample's answer; `log` also writes its decision row."""
    service_app = create_app()  # knowledge, store and services exactly as the service has them
    call = load_sample(sample).request
    service = find_service(service_app.extensions[SERVICES_KEY], service_id_for(call))
    if service is None:
        raise SystemExit(f"no service answers {sample}")
    answer = service_app.test_client().post(f"/cds-services/{service.id}", json=call)
    if answer.status_code != 200:
        raise SystemExit(f"the sample call answers {answer.status_code}")
    # The decisions behind that answer, for the log rows (the same pipeline the route runs).
    outcome = evaluate_call(
        HookRequest.model_validate(call),
        service,
        knowledge=service_app.extensions["spine_cds.knowledge"],
        settings=service_app.extensions["spine_cds.settings"],
    )
    store = get_store(service_app)
    body = answer.get_data()
    app = Flask("floor")

    @app.get("/")
    def ready() -> dict[str, str]:
        return {"floor": "ready"}

    @app.post("/")
    def hook_call() -> Response:
        received = parse_json(request.get_data())
        if log:
            instance = str(received["hookInstance"])
            decisions = [
                dataclasses.replace(d, consult_id=consult_id_for(instance, d.order.reference))
                for d in outcome.decisions
            ]
            store.log_decisions(
                service_id=service.id,
                hook=service.hook,
                hook_instance=instance,
                patient_id=str(received["context"].get("patientId")),
                decisions=decisions,
                response=outcome.response,
            )
        return Response(body, mimetype="application/json")

    return app
