"""The clinical lead's dashboard over the log filled by real hook and feedback calls (SQLite, PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from cds_service import Settings, create_app
from cds_service.store import get_store, tables
from tests.check_loop import check_link, lumbar_mri_call, path_of, read_form, refired
from tests.dashboard_log import ExpectedFigures, fill_log
from tests.dashboard_pages import figure, sign_in, totals, users_file
from tests.hook_requests import SELECT_URL
from tests.store_samples import lumbar_mri_decision, overridden, response_with_cards


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> FlaskClient:
    """The service with the dashboard on (auth off for the hook calls that fill the log)."""
    settings = Settings(
        auth="off", database_url=database_url, dashboard_users=users_file(tmp_path), secret_key="test-secret"
    )
    return create_app(settings).test_client()


@pytest.fixture
def expected(client: FlaskClient) -> ExpectedFigures:
    """Every sample through the hook endpoint, with feedback on its cards."""

    def post(path: str, body: dict[str, object]) -> tuple[int, object]:
        response = client.post(path, json=body)
        return response.status_code, response.get_json()

    return fill_log(post)


def test_signed_in_lead_sees_the_totals_of_the_calls_made(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    assert sign_in(client) == 303
    page = client.get("/dashboard").text
    assert totals(page) == (
        expected.decisions,
        expected.cards,
        expected.accepted,
        expected.overridden,
        expected.no_feedback,
    )
    assert expected.decisions >= 17 and expected.overridden >= 2 and expected.accepted >= 2
    for pathway, n in expected.by_pathway.items():
        label = pathway.replace("-", " ").capitalize()
        assert f'<tr><th scope="row">{label}</th><td>{n}</td>' in page


def test_every_overridden_emergency_and_cancer_card_is_on_the_watch_list(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    sign_in(client)
    page = client.get("/dashboard").text
    assert int(figure(page, "watch-count")) == len(expected.watched_consults)
    for consult in expected.watched_consults:
        assert consult in page
    assert "Patient circumstances (with a comment, not stored)" in page
    assert "seen in clinic" not in page  # the GP's free text is never stored


def test_csv_export_has_one_line_per_decision_in_range_and_no_patient_identifier(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    sign_in(client)
    response = client.get("/dashboard/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == expected.decisions
    outcomes = [row["card_outcome"] for row in rows]
    assert outcomes.count("accepted") == expected.accepted
    assert outcomes.count("overridden") == expected.overridden
    assert {row["consult_id"] for row in rows} >= set(expected.watched_consults)
    assert not {"patient_hash", "patient_id", "patient"} & set(rows[0])
    # The same cells on both databases (PostgreSQL writes its CSV itself).
    today = datetime.now(UTC).date().isoformat()
    assert all(row["decided_at"].startswith(today) and row["card_shown"] in ("yes", "no") for row in rows)
    flags = " ".join(row["red_flags"] for row in rows)
    assert "history-of-cancer" in flags and "[" not in flags and '"' not in flags
    # Each line carries its own decision's lists, never another decision's.
    with get_store(client.application).engine.connect() as connection:
        logged = connection.execute(
            sa.select(tables.decisions.c.consult_id, tables.decisions.c.red_flags, tables.decisions.c.regions)
        ).all()
    assert {row["consult_id"]: (row["red_flags"], row["regions"]) for row in rows} == {
        consult: (" ".join(flags), " ".join(regions)) for consult, flags, regions in logged
    }
    assert any(row["accepted_suggestion_kinds"] == "cancel-order" for row in rows)


def test_a_range_before_the_calls_shows_no_orders_and_exports_no_rows(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    sign_in(client)
    last_year = (datetime.now(UTC) - timedelta(days=400)).date()
    dates = f"from={last_year - timedelta(days=30)}&to={last_year}"
    assert totals(client.get(f"/dashboard?{dates}").text) == (0, 0, 0, 0, 0)
    lines = client.get(f"/dashboard/export.csv?{dates}").text.splitlines()
    assert len(lines) == 1  # the header only
    assert expected.decisions > 0


def test_accepted_cards_are_counted_as_imaging_changed(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    sign_in(client)
    page = client.get("/dashboard").text
    kinds = expected.accepted_kinds
    cancelled = kinds["cancel-order"] + kinds["refer-physiotherapy"]
    assert f"Orders cancelled (or replaced by a referral)</th><td>{cancelled}</td>" in page
    to_xray = kinds["switch-to-xray"]
    assert cancelled and to_xray
    assert f"MRI or CT changed to X-ray</th><td>{to_xray}</td>" in page


def test_the_print_view_has_the_same_figures_and_no_forms(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    sign_in(client)
    page = client.get("/dashboard/print").text
    assert int(figure(page, "total-decisions")) == expected.decisions
    assert "<form" not in page


def test_with_several_ehr_clients_the_lead_can_look_at_one(tmp_path: Path, database_url: str) -> None:
    settings = Settings(
        auth="off", database_url=database_url, dashboard_users=users_file(tmp_path), secret_key="k"
    )
    app = create_app(settings)
    store = get_store(app)
    callers = [("https://ehr-a.example.org", None, 3), ("https://ehr-b.example.org", "practice-2", 2)]
    for client_id, tenant, n in callers:
        decisions = [lumbar_mri_decision() for _ in range(n)]
        store.log_decisions(
            service_id="spinal-imaging-order-sign",
            hook="order-sign",
            hook_instance=f"call-{client_id}",
            patient_id="p1",
            decisions=decisions,
            response=response_with_cards(*decisions),
            client_id=client_id,
            tenant=tenant,
        )
    client = app.test_client()
    sign_in(client)
    page = client.get("/dashboard").text
    assert int(figure(page, "total-decisions")) == 5
    assert "https://ehr-b.example.org - tenant practice-2</option>" in page
    only_b = client.get("/dashboard", query_string={"client": "https://ehr-b.example.org|practice-2"}).text
    assert int(figure(only_b, "total-decisions")) == 2
    export = client.get("/dashboard/export.csv", query_string={"client": "https://ehr-a.example.org|"}).text
    rows = list(csv.DictReader(io.StringIO(export)))
    assert len(rows) == 3 and {row["client_id"] for row in rows} == {"https://ehr-a.example.org"}


def test_settled_days_are_summarised_once_and_late_feedback_still_counts(
    client: FlaskClient, expected: ExpectedFigures
) -> None:
    app = client.application
    engine = get_store(app).engine
    d = tables.decisions
    month_ago = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as connection:  # the calls made a month ago: their days are settled
        connection.execute(d.update().values(decided_at=month_ago))
    sign_in(client)
    dates = {"from": str((month_ago - timedelta(days=3)).date()), "to": str(datetime.now(UTC).date())}
    first = client.get("/dashboard", query_string=dates).text
    assert totals(first) == (
        expected.decisions,
        expected.cards,
        expected.accepted,
        expected.overridden,
        expected.no_feedback,
    )
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.sum(tables.dashboard_daily.c.n))).scalar()
            == expected.decisions
        )
        card = connection.execute(
            sa.select(d.c.card_uuid).where(d.c.card_shown.is_(True), d.c.outcome.is_(None)).limit(1)
        ).scalar_one()
    late = {
        "card": card,
        "outcome": "overridden",
        "overrideReason": {
            "reason": {
                "code": "other",
                "system": "https://spine-cds.example.org/fhir/CodeSystem/override-reason",
            }
        },
        "outcomeTimestamp": datetime.now(UTC).isoformat(),
    }
    assert (
        client.post(
            "/cds-services/spinal-imaging-order-select/feedback", json={"feedback": [late]}
        ).status_code
        == 200
    )
    after = totals(client.get("/dashboard", query_string=dates).text)
    assert after[3:] == (expected.overridden + 1, expected.no_feedback - 1)


def test_an_override_reason_written_like_a_formula_is_not_run_by_a_spreadsheet(
    tmp_path: Path, database_url: str
) -> None:
    settings = Settings(
        auth="off", database_url=database_url, dashboard_users=users_file(tmp_path), secret_key="k"
    )
    app = create_app(settings)
    store = get_store(app)
    cancer = lumbar_mri_decision()
    store.log_decisions(
        service_id="spinal-imaging-order-sign",
        hook="order-sign",
        hook_instance="i-formula",
        patient_id="p1",
        decisions=[cancer],
        response=response_with_cards(cancer),
    )
    store.save_feedback(
        service_id="spinal-imaging-order-sign", items=[overridden(cancer, code='=HYPERLINK("x")')]
    )
    client = app.test_client()
    sign_in(client)
    rows = list(csv.DictReader(io.StringIO(client.get("/dashboard/export.csv").text)))
    assert [row["override_reason_code"] for row in rows] == ['\'=HYPERLINK("x")']


def test_the_gps_red_flag_check_answers_and_the_pathways_they_changed_are_shown(
    tmp_path: Path, database_url: str
) -> None:
    settings = Settings(
        auth="off",
        database_url=database_url,
        dashboard_users=users_file(tmp_path),
        secret_key="k",
        patient_hash_key="p",
    )
    client = create_app(settings).test_client()
    call = lumbar_mri_call()
    link = check_link(client.post(SELECT_URL, json=call).get_json()) or ""
    form = read_form(client.get(path_of(link)).text)
    answered = client.post(
        path_of(link),
        data={
            "csrf_token": form.csrf_token,
            "saddle-anaesthesia": "yes",
            "bladder-or-bowel-dysfunction": "no",
        },
    )
    assert answered.status_code == 200
    assert client.post(SELECT_URL, json=refired(call)).status_code == 200
    assert sign_in(client) == 303  # the check's session cookie and the dashboard's live side by side
    page = client.get("/dashboard").text
    assert '<strong id="with-answers">1</strong>' in page
    assert '<strong id="changed-by-answers">1</strong>' in page
    assert '<th scope="row">saddle-anaesthesia</th><td>1</td><td>0</td>' in page
    assert '<th scope="row">bladder-or-bowel-dysfunction</th><td>0</td><td>1</td>' in page
    assert "<td>Emergency department</td><td>1</td>" in page
