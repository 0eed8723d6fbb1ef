"""Server time of the red-flag check page (GET: the form; POST: store the answers, show the outcome),
and what reading the answers adds to a hook call, in-process on SQLite.

    .venv/bin/python bench/bench_check_page.py [--pages 300]

Each measurement is the WSGI app's own time for one request through Flask's test client (rate limit
upsert, link check against seen_tokens, rendering; POST also the CSRF check and the one-transaction
store). Bounded: `--pages` requests per measurement, in-process, no network.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' request builders

from cds_service import Settings, create_app
from cds_service.check.page import ANSWERS_KEY
from cds_service.knowledge import load_knowledge
from cds_service.rules.classify import classify_order
from tests.check_loop import check_link, lumbar_mri_call, path_of, read_form, refired

SELECT = "/cds-services/spinal-imaging-order-select"


def _percentiles(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"{name:<44} n={len(ms):<5} p50={statistics.median(ms):6.2f} ms  p99={p99:6.2f} ms")


def main() -> None:
    """Measure GET and POST of the check page, and a hook call with and without stored answers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            auth="off",
            database_url=f"sqlite:///{Path(scratch) / 'bench.sqlite'}",
            secret_key="bench",
            patient_hash_key="bench",
            check_requests_per_minute=10**9,
        )
        app = create_app(settings)
        client = app.test_client()
        calls = [lumbar_mri_call(f"bench-patient-{n}") for n in range(args.pages)]
        links = [path_of(check_link(client.post(SELECT, json=call).get_json()) or "") for call in calls]

        get_times, forms = [], []
        for link in links:
            started = time.perf_counter()
            response = client.get(link)
            get_times.append(time.perf_counter() - started)
            forms.append(read_form(response.get_data(as_text=True)))
        post_times = []
        for link, form in zip(links, forms, strict=True):
            data = {"csrf_token": form.csrf_token or "", "saddle-anaesthesia": "no", "trauma": "no"}
            started = time.perf_counter()
            response = client.post(link, data=data)
            post_times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code

        with_answers = []
        for call in calls:
            again = refired(call)
            started = time.perf_counter()
            client.post(SELECT, json=again)
            with_answers.append(time.perf_counter() - started)
        without_answers = []
        for n in range(args.pages):
            fresh = lumbar_mri_call(f"bench-unanswered-{n}")
            started = time.perf_counter()
            client.post(SELECT, json=fresh)
            without_answers.append(time.perf_counter() - started)
        # The hook path's own cost of the answers: the one look-up, alone.
        store = app.extensions[ANSWERS_KEY]
        draft = calls[0]["context"]["draftOrders"]["entry"][0]["resource"]
        order = classify_order(draft, load_knowledge())
        assert order is not None
        lookups = []
        for n in range(args.pages):
            started = time.perf_counter()
            store.find(f"{n:064x}", [order])
            lookups.append(time.perf_counter() - started)
    _percentiles("answers look-up alone (one indexed query)", lookups)
    _percentiles("GET /check/<token> (the form)", get_times)
    _percentiles("POST /check/<token> (store, outcome)", post_times)
    _percentiles("order-select, answers stored for the order", with_answers)
    _percentiles("order-select, no answers stored", without_answers)


if __name__ == "__main__":
    main()
