"""Prometheus metrics every area of the service updates; /metrics exposes them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_LATENCY = Histogram(
    "spine_cds_request_seconds",
    "Time to answer an HTTP request, by service id (or route) and status",
    ["service", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
DECISIONS = Counter("spine_cds_decisions_total", "Spinal imaging orders evaluated, by pathway", ["pathway"])
FALLBACK_FETCHES = Counter(
    "spine_cds_fallback_fetches_total",
    "Prefetch keys fetched from the client's FHIR server, by key and outcome",
    ["key", "outcome"],
)
AUTH_FAILURES = Counter("spine_cds_auth_failures_total", "Rejected client JWTs, by reason", ["reason"])
FEEDBACK_ITEMS = Counter("spine_cds_feedback_items_total", "Feedback items received, by outcome", ["outcome"])
STORE_FAILURES = Counter(
    "spine_cds_store_failures_total",
    "Decision log or feedback writes that failed because the database was unavailable, by operation",
    ["operation"],
)
CHECK_ANSWERS = Counter(
    "spine_cds_check_answers_total",
    "Red-flag check answers stored, by question (red-flag id) and answer (yes/no)",
    ["question", "answer"],
)
CHECK_ANSWER_SETS = Counter(
    "spine_cds_check_answer_sets_total",
    "Red-flag check forms stored, by whether the answers changed the pathway the record alone gave",
    ["changed_pathway"],
)
CHECK_REFUSED = Counter(
    "spine_cds_check_refused_total", "Red-flag check requests refused, by reason", ["reason"]
)
CHECK_LINKS = Counter("spine_cds_check_links_total", "Cards that carried a red-flag check link")
