"""Request bodies: a long record is read, and the fast JSON parser answers every body as before."""

from __future__ import annotations

import copy
import gc
import json
from typing import Any

from flask.testing import FlaskClient

from tests.hook_requests import MRI_LUMBAR, SELECT_URL, SNOMED, hook_call, service_request


def _long_record_call(conditions: int) -> dict[str, Any]:
    call = hook_call([service_request(MRI_LUMBAR)])
    template = call["prefetch"]["conditions"]["entry"][0]
    entries = []
    for i in range(conditions):
        entry = copy.deepcopy(template)
        entry["resource"]["id"] = f"old-{i}"
        hypertension = {"system": SNOMED, "code": "38341003", "display": "Hypertension"}
        entry["resource"]["code"]["coding"][0] = hypertension
        entries.append(entry)
    call["prefetch"]["conditions"]["entry"] = [template, *entries]
    return call


def test_gp_with_a_long_record_prefetched_gets_advice_not_413(client: FlaskClient) -> None:
    body = json.dumps(_long_record_call(6_000)).encode()
    assert len(body) > 2_000_000  # well over the old 1 MB default an EHR's large prefetch broke
    response = client.post(SELECT_URL, data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.get_json()["cards"][0]["indicator"] == "warning"


def _with_extension(value_json: str) -> bytes:
    call = hook_call([service_request(MRI_LUMBAR)])
    call["extension"] = {"org.example.raw": "PLACEHOLDER"}
    return json.dumps(call).replace('"PLACEHOLDER"', value_json).encode()


def test_json_the_fast_parser_refuses_is_still_read_as_before(client: FlaskClient) -> None:
    # NaN, an integer beyond 64 bits and a lone surrogate: not strict JSON, but always accepted.
    for odd in ("NaN", "123456789012345678901234567890", '"\\ud800"'):
        response = client.post(SELECT_URL, data=_with_extension(odd), content_type="application/json")
        assert response.status_code == 200, odd
        assert response.get_json()["cards"][0]["indicator"] == "warning"


def test_the_garbage_collector_runs_again_after_each_request(client: FlaskClient) -> None:
    assert gc.isenabled()
    client.post(SELECT_URL, json=hook_call([service_request(MRI_LUMBAR)]))
    client.post(SELECT_URL, data=b"{", content_type="application/json")  # a request that fails
    assert gc.isenabled()
