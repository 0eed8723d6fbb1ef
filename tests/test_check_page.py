"""The red-flag check through the Flask app: the card's link, the page, the answers, the next card."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr

from cds_service import Settings, create_app
from cds_service.check.page import ANSWERS_KEY
from cds_service.store import get_store, tables
from tests.check_loop import (
    ask_about_items,
    check_link,
    lumbar_mri_call,
    path_of,
    read_form,
    refired,
    the_card,
)
from tests.hook_requests import MRI_KNEE, SELECT_URL, SIGN_URL, hook_call, service_request

CAUDA_EQUINA = ("saddle-anaesthesia", "bladder-or-bowel-dysfunction")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Auth off, a throwaway SQLite database, fixed keys (as a deployment sets them)."""
    return Settings(
        auth="off",
        database_url=f"sqlite:///{tmp_path / 'spine-cds.sqlite'}",
        secret_key="check-test-secret",
        patient_hash_key="check-test-patient-key",
    )


def order_select(client: FlaskClient, call: dict[str, Any], url: str = SELECT_URL) -> dict[str, Any]:
    response = client.post(url, json=call)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


def answer_questions(client: FlaskClient, link: str, answers: dict[str, str]) -> Any:
    page = client.get(path_of(link))
    assert page.status_code == 200, page.get_data(as_text=True)
    form = read_form(page.get_data(as_text=True))
    return client.post(path_of(link), data={"csrf_token": form.csrf_token, **answers})


def stored_answers(app: Flask) -> list[Any]:
    with get_store(app).engine.connect() as connection:
        return list(connection.execute(sa.select(tables.red_flag_answers)))


def test_a_card_that_asks_carries_a_signed_link_without_patient_data(client: FlaskClient) -> None:
    answer = order_select(client, lumbar_mri_call("pat-priya-shah"))
    link = check_link(answer)
    assert link is not None
    assert link.startswith("http://127.0.0.1:8080/check/")
    assert "pat-priya-shah" not in link
    page = client.get(path_of(link))
    html = page.get_data(as_text=True)
    assert "MRI lumbar spine" in html
    assert "pat-priya-shah" not in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    form = read_form(html)
    assert "saddle-anaesthesia" in form.questions
    assert "bladder-or-bowel-dysfunction" in form.questions


def test_yes_to_saddle_anaesthesia_makes_the_next_card_send_the_patient_to_the_emergency_department(
    app: Flask, client: FlaskClient
) -> None:
    call = lumbar_mri_call()
    first = order_select(client, call)
    assert the_card(first)["indicator"] != "critical"
    result = answer_questions(client, check_link(first) or "", {"saddle-anaesthesia": "yes"})
    assert result.status_code == 200
    assert "Emergency department" in result.get_data(as_text=True)
    assert "saddle anaesthesia \u2013 yes" in result.get_data(as_text=True)

    again = the_card(order_select(client, refired(call)))
    assert again["indicator"] == "critical"
    assert "stated by the clinician in the red-flag check at" in again["detail"]
    with get_store(app).engine.connect() as connection:
        latest = connection.execute(
            sa.select(tables.decisions).order_by(tables.decisions.c.id.desc()).limit(1)
        ).one()
    assert latest.pathway == "emergency-department"
    assert latest.answers_used == {"saddle-anaesthesia": "yes"}
    assert latest.pathway_without_answers == "imaging-not-indicated"


def test_all_no_on_a_routine_record_gives_imaging_not_indicated_without_questions(
    client: FlaskClient,
) -> None:
    call = lumbar_mri_call()
    first = order_select(client, call)
    form = read_form(client.get(path_of(check_link(first) or "")).get_data(as_text=True))
    result = client.post(
        path_of(check_link(first) or ""),
        data={"csrf_token": form.csrf_token, **{question: "no" for question in form.questions}},
    )
    assert result.status_code == 200
    assert "No red flags in the record or in the answers" in result.get_data(as_text=True)

    again = order_select(client, refired(call))
    card = the_card(again)
    assert ask_about_items(card) == []
    assert check_link(again) is None
    assert "No red flags in the record or in the answers" in card["detail"]
    assert again["systemActions"][0]["resource"]["extension"][0]["extension"][0]["valueCode"] == (
        "imaging-not-indicated"
    )


def test_answers_follow_the_order_to_order_sign_and_to_a_new_order_id_with_the_same_code(
    client: FlaskClient,
) -> None:
    call = lumbar_mri_call()
    first = order_select(client, call)
    answer_questions(client, check_link(first) or "", {"bladder-or-bowel-dysfunction": "yes"})
    signed = order_select(client, refired(call, hook="order-sign"), url=SIGN_URL)
    assert the_card(signed)["indicator"] == "critical"
    renamed = order_select(client, refired(call, order_id="new-order-id"))
    assert the_card(renamed)["indicator"] == "critical"


def test_answers_for_one_patient_never_change_another_patients_card(client: FlaskClient) -> None:
    first = order_select(client, lumbar_mri_call("patient-a"))
    answer_questions(client, check_link(first) or "", {"saddle-anaesthesia": "yes"})
    other = the_card(order_select(client, lumbar_mri_call("patient-b")))
    assert other["indicator"] != "critical"
    assert "stated by the clinician" not in other["detail"]


def test_answers_no_longer_count_after_their_window(tmp_path: Path, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"answers_valid_minutes": 0}))
    client = app.test_client()
    call = lumbar_mri_call()
    first = order_select(client, call)
    answer_questions(client, check_link(first) or "", {"saddle-anaesthesia": "yes"})
    assert the_card(order_select(client, refired(call)))["indicator"] != "critical"


def test_a_link_is_used_once_and_a_reused_link_stores_nothing(app: Flask, client: FlaskClient) -> None:
    first = order_select(client, lumbar_mri_call())
    link = path_of(check_link(first) or "")
    form = read_form(client.get(link).get_data(as_text=True))
    assert client.post(link, data={"csrf_token": form.csrf_token, "trauma": "no"}).status_code == 200
    again = client.post(link, data={"csrf_token": form.csrf_token, "saddle-anaesthesia": "yes"})
    assert again.status_code == 409
    assert "already answered" in again.get_data(as_text=True)
    assert client.get(link).status_code == 409
    assert [(row.question, row.answer) for row in stored_answers(app)] == [("trauma", "no")]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"nonsense-field": "yes"}, 400),
        ({"saddle-anaesthesia": "maybe"}, 400),
        ({"hiv": "yes"}, 400),  # a red flag this card does not ask about
        ({"saddle-anaesthesia": "y" * 5000}, 413),
    ],
)
def test_a_form_the_page_could_not_have_sent_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, fields: dict[str, str], status: int
) -> None:
    link = path_of(check_link(order_select(client, lumbar_mri_call())) or "")
    form = read_form(client.get(link).get_data(as_text=True))
    response = client.post(link, data={"csrf_token": form.csrf_token, **fields})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert stored_answers(app) == []


def test_a_missing_or_forged_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    link = path_of(check_link(order_select(client, lumbar_mri_call())) or "")
    client.get(link)
    assert client.post(link, data={"saddle-anaesthesia": "no"}).status_code == 400
    assert client.post(link, data={"csrf_token": "forged", "saddle-anaesthesia": "no"}).status_code == 400
    assert client.post(link, json={"saddle-anaesthesia": "no"}).status_code == 415
    assert stored_answers(app) == []


def test_tampered_expired_and_foreign_links_get_a_clear_page(settings: Settings, client: FlaskClient) -> None:
    link = path_of(check_link(order_select(client, lumbar_mri_call())) or "")
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 400
    assert "This link is not valid" in client.get(tampered).get_data(as_text=True)
    assert client.get("/check/not-a-token").status_code == 400

    foreign = create_app(
        settings.model_copy(update={"secret_key": SecretStr("another-service")})
    ).test_client()
    assert foreign.get(link).status_code == 400
    elsewhere = create_app(settings.model_copy(update={"public_url": "https://other.example"})).test_client()
    assert elsewhere.get(link).status_code == 400

    expired = create_app(settings.model_copy(update={"check_token_minutes": 0})).test_client()
    short_lived = path_of(check_link(order_select(expired, lumbar_mri_call())) or "")
    time.sleep(1.1)  # the link's whole-second age passes its zero-minute lifetime
    response = expired.get(short_lived)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_too_many_requests_from_one_address_are_refused(settings: Settings) -> None:
    client = create_app(settings.model_copy(update={"check_requests_per_minute": 3})).test_client()
    link = path_of(check_link(order_select(client, lumbar_mri_call())) or "")
    statuses = [client.get(link).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_the_stylesheet_is_served_by_the_service(client: FlaskClient) -> None:
    response = client.get("/check/static/check.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_the_answers_are_read_in_one_indexed_query_and_only_for_a_spinal_order(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = app.extensions[ANSWERS_KEY]._reader
    reads: list[tuple[Any, ...]] = []
    real_read = reader.read

    def counted(*args: Any) -> Any:
        reads.append(args)
        return real_read(*args)

    monkeypatch.setattr(reader, "read", counted)
    order_select(client, hook_call([service_request(MRI_KNEE)]))
    assert reads == []
    order_select(client, lumbar_mri_call())
    assert len(reads) == 1
    statement = reader._statement(1, 1).replace("?", "'x'")
    with get_store(app).engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement))
    assert "USING INDEX ix_red_flag_answers_patient_order" in plan


def test_when_the_answers_cannot_be_read_the_card_says_so(app: Flask, client: FlaskClient) -> None:
    with get_store(app).engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE red_flag_answers")
    card = the_card(order_select(client, lumbar_mri_call()))
    assert "answers given in the red-flag check" in card["detail"]
    assert ask_about_items(card)  # the questions still stand
