"""What happens under attack or garbage: a 4xx with an OperationOutcome, never a 500 or a crash."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cds_service import Settings, create_app
from tests.fuzzing import examples
from tests.hook_requests import (
    MRI_KNEE,
    MRI_LUMBAR,
    SELECT_URL,
    SIGN_URL,
    complete_prefetch,
    hook_call,
    service_request,
)

FEEDBACK_URL = SELECT_URL + "/feedback"
XRAY_CERVICAL = {
    "system": "http://www.ama-assn.org/go/cpt",
    "code": "72040",
    "display": "X-ray cervical spine",
}
BODY_LIMIT = 20_000
FUZZ = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# One app for the whole module: hypothesis and schemathesis call it hundreds of times. Auth is off
# so that generated bodies reach the pipeline; garbage credentials are fuzzed at the end.
_WORKDIR = tempfile.TemporaryDirectory(prefix="spine-cds-abuse-")
ABUSE_APP = create_app(
    Settings(
        auth="off",
        max_body_bytes=BODY_LIMIT,
        database_url=f"sqlite:///{Path(_WORKDIR.name) / 'abuse.sqlite'}",
    )
)


@pytest.fixture(scope="module")
def abuse_client() -> FlaskClient:
    return ABUSE_APP.test_client()


def assert_client_error(response: Any, *expected: int) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if expected:
        assert response.status_code in expected, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        body = json.loads(response.get_data(as_text=True))
        assert body["resourceType"] == "OperationOutcome"


# --- schemathesis against the served document ------------------------------------------------

schema = schemathesis.openapi.from_wsgi("/openapi.json", ABUSE_APP)


@schema.parametrize()
@settings(max_examples=examples(30), deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_answers_match_the_document(case: Any) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )


# --- hypothesis-generated hook bodies ----------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
spinal_codings = st.sampled_from(
    [
        MRI_LUMBAR,
        {"system": "http://www.ama-assn.org/go/cpt", "code": "72100"},
        {"system": "http://snomed.info/sct", "code": "241645000"},
        {},
        {"code": None},
    ]
)
draft_orders = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["ServiceRequest", "MedicationRequest", "Patient", 7, None])},
    optional={
        "id": st.text(max_size=8) | st.integers(),
        "status": st.sampled_from(["draft", "active", "", None]) | json_values,
        "code": st.fixed_dictionaries({"coding": st.lists(spinal_codings, max_size=3) | spinal_codings})
        | json_values,
        "reasonCode": json_values,
        "authoredOn": st.sampled_from(["2026-11-02", "not a date", "", "2026-02-30"]) | json_values,
        "subject": json_values,
    },
)
draft_bundles = st.fixed_dictionaries(
    {"resourceType": st.just("Bundle")},
    optional={
        "type": st.sampled_from(["collection", "searchset"]) | json_values,
        "entry": st.lists(
            st.fixed_dictionaries({}, optional={"resource": draft_orders | json_values}), max_size=4
        )
        | json_values,
    },
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "patientId": st.text(max_size=12) | json_values,
        "userId": st.text(max_size=12) | json_values,
        "selections": st.lists(st.text(max_size=20) | json_values, max_size=3) | json_values,
        "draftOrders": draft_bundles | json_values,
    },
)
hook_bodies = st.fixed_dictionaries(
    {},
    optional={
        "hook": st.sampled_from(["order-select", "order-sign", "patient-view", ""]) | json_values,
        "hookInstance": st.uuids().map(str) | json_values,
        "fhirServer": st.sampled_from(["http://127.0.0.1:9/fhir", "file:///etc/passwd", ""]) | json_values,
        "fhirAuthorization": json_values,
        "context": contexts | json_values,
        "prefetch": st.just(complete_prefetch()) | json_values,
    },
)


@given(body=json_values)
@FUZZ
def test_random_json_never_makes_a_server_error(abuse_client: FlaskClient, body: Any) -> None:
    assert_client_error(abuse_client.post(SELECT_URL, json=body))
    assert_client_error(abuse_client.post(FEEDBACK_URL, json=body))


@given(body=hook_bodies)
@FUZZ
def test_random_hook_envelopes_never_make_a_server_error(
    abuse_client: FlaskClient, body: dict[str, Any]
) -> None:
    assert_client_error(abuse_client.post(SELECT_URL, json=body))
    assert_client_error(abuse_client.post(SIGN_URL, json=body))


@given(context=contexts)
@FUZZ
def test_random_contexts_and_draft_orders_never_make_a_server_error(
    abuse_client: FlaskClient, context: dict[str, Any]
) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    body["context"] = context
    assert_client_error(abuse_client.post(SELECT_URL, json=body))
    body["hook"] = "order-sign"
    assert_client_error(abuse_client.post(SIGN_URL, json=body))


# Any shape, nulls and empty containers included: the order echoed back in systemActions and in
# suggestions is pruned of them, so the spec's no-empty-values rule holds whatever the client sent.
selected_orders = st.fixed_dictionaries(
    {
        "resourceType": st.just("ServiceRequest"),
        "id": st.just("picked"),
        "code": st.fixed_dictionaries(
            {
                "coding": st.lists(
                    st.sampled_from([MRI_LUMBAR, MRI_KNEE, XRAY_CERVICAL]), min_size=1, max_size=3
                )
            }
        ),
    },
    optional={
        "status": st.sampled_from(["draft", "active", "revoked"]) | json_values,
        "intent": json_values,
        "reasonCode": json_values,
        "bodySite": json_values,
        "authoredOn": st.sampled_from(["2026-11-02", "1900-01-01", "3000-01-01", "garbage"]) | json_values,
        "occurrenceDateTime": json_values,
        "subject": json_values,
    },
)
record_junk = st.lists(
    st.fixed_dictionaries(
        {"resourceType": st.sampled_from(["Condition", "Observation", "MedicationRequest", "Procedure"])},
        optional={
            "code": json_values,
            "clinicalStatus": json_values,
            "verificationStatus": json_values,
            "onsetDateTime": st.sampled_from(["2026-10-01", "nonsense"]) | json_values,
            "valueQuantity": json_values,
            "effectiveDateTime": json_values,
        },
    ),
    max_size=4,
)


@given(order=selected_orders, junk=record_junk)
@FUZZ
def test_selected_spinal_order_with_odd_fields_and_record_junk_never_makes_a_server_error(
    abuse_client: FlaskClient, order: dict[str, Any], junk: list[dict[str, Any]]
) -> None:
    body = hook_call([order])
    for key, bundle in body["prefetch"].items():
        if key != "patient" and isinstance(bundle, dict):
            bundle.setdefault("entry", []).extend({"resource": resource} for resource in junk)
    assert_client_error(abuse_client.post(SELECT_URL, json=body))
    body["hook"] = "order-sign"
    assert_client_error(abuse_client.post(SIGN_URL, json=body))


@given(
    items=st.lists(
        json_values | st.fixed_dictionaries({}, optional={"card": json_values, "outcome": json_values})
    )
)
@FUZZ
def test_random_feedback_never_makes_a_server_error(abuse_client: FlaskClient, items: list[Any]) -> None:
    assert_client_error(abuse_client.post(FEEDBACK_URL, json={"feedback": items}))


# --- size, depth, encoding and content type --------------------------------------------------


@pytest.mark.parametrize("url", [SELECT_URL, FEEDBACK_URL])
def test_oversized_body_is_refused_with_413(abuse_client: FlaskClient, url: str) -> None:
    body = hook_call([service_request(MRI_LUMBAR)])
    body["context"]["padding"] = "x" * (BODY_LIMIT * 2)
    assert_client_error(abuse_client.post(url, json=body), 413)


def test_oversized_body_without_content_length_is_refused(tmp_path: Path) -> None:
    app = create_app(
        Settings(auth="off", max_body_bytes=BODY_LIMIT, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    )
    wsgi_app = app.wsgi_app

    def chunked(environ: dict[str, Any], start_response: Any) -> Any:
        # What a server hands over for `Transfer-Encoding: chunked`: no length, a terminated stream.
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
        return wsgi_app(environ, start_response)

    app.wsgi_app = chunked  # type: ignore[method-assign]
    body = b'{"hook": "order-select", "pad": "' + b"x" * (BODY_LIMIT * 2) + b'"}'
    response = app.test_client().post(SELECT_URL, data=body, content_type="application/json")
    assert_client_error(response, 400, 413)


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [500, 5_000, 9_000])
def test_deeply_nested_json_is_a_client_error_not_a_crash(abuse_client: FlaskClient, depth: int) -> None:
    whole = nested(depth)
    assert_client_error(abuse_client.post(SELECT_URL, data=whole, content_type="application/json"), 400, 413)
    body = json.dumps(hook_call([service_request(MRI_LUMBAR)]))
    for field in ('"draftOrders": ', '"prefetch": '):
        at = body.index(field) + len(field)
        poisoned = body[:at] + nested(depth) + ", " + body[at:]
        # The duplicate key makes the nested value the one kept or the one discarded; both must be safe.
        response = abuse_client.post(SELECT_URL, data=poisoned, content_type="application/json")
        assert_client_error(response)


def test_deep_nesting_in_feedback_is_a_client_error(abuse_client: FlaskClient) -> None:
    body = '{"feedback": [' + nested(5_000) + "]}"
    assert_client_error(abuse_client.post(FEEDBACK_URL, data=body, content_type="application/json"), 400, 413)


@pytest.mark.parametrize(
    "data", [b"\xff\xfe\x00garbage", b"{", b"", b"null", b'"text"', b"[1, 2]", b"1e999999"]
)
def test_body_that_is_not_a_json_object_is_refused_with_400(abuse_client: FlaskClient, data: bytes) -> None:
    for url in (SELECT_URL, FEEDBACK_URL):
        assert_client_error(abuse_client.post(url, data=data, content_type="application/json"), 400)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        None,
    ],
)
def test_body_that_is_not_declared_json_is_refused_with_415(
    abuse_client: FlaskClient, content_type: str | None
) -> None:
    data = json.dumps(hook_call([service_request(MRI_LUMBAR)]))
    headers = {"Content-Type": content_type} if content_type else {}
    for url in (SELECT_URL, FEEDBACK_URL):
        assert_client_error(abuse_client.post(url, data=data, headers=headers), 415)


def test_wrong_method_is_405(abuse_client: FlaskClient) -> None:
    assert_client_error(abuse_client.get(SELECT_URL), 405)
    assert_client_error(abuse_client.put(FEEDBACK_URL, json={}), 405)
    assert_client_error(abuse_client.delete("/cds-services"), 405)


# --- garbage credentials with authentication on ----------------------------------------------


@pytest.fixture(scope="module")
def guarded_client() -> Iterator[FlaskClient]:
    with tempfile.TemporaryDirectory() as tmp:
        issuers = Path(tmp) / "issuers.json"
        issuers.write_text(
            json.dumps({"https://ehr.example.org": {"jwks_url": "http://127.0.0.1:9/jwks.json"}})
        )
        settings = Settings(
            auth="on",
            trusted_issuers=str(issuers),
            jwks_fetch_timeout_seconds=0.2,
            database_url=f"sqlite:///{Path(tmp) / 'guarded.sqlite'}",
        )
        yield create_app(settings).test_client()


jwt_like = st.lists(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=60),
    min_size=1,
    max_size=4,
).map(".".join)


@given(
    token=jwt_like | st.text(max_size=80),
    scheme=st.sampled_from(["Bearer", "bearer", "Basic", "", "Bearer  "]),
)
@FUZZ
def test_garbage_credentials_get_401_never_500(guarded_client: FlaskClient, token: str, scheme: str) -> None:
    header = f"{scheme} {token}".replace("\n", " ").replace("\r", " ")
    try:
        response = guarded_client.post(SELECT_URL, json={}, headers={"Authorization": header})
    except ValueError:
        return  # the test client itself refuses headers no HTTP client could send
    assert response.status_code == 401
