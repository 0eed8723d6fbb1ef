"""The red-flag questions published as a FHIR R4 Questionnaire, from the same knowledge as the card."""

from __future__ import annotations

from fhir.resources.R4B.questionnaire import Questionnaire
from flask.testing import FlaskClient

from cds_service.rules.pathway_rules import load_pathway_rules
from tests.check_loop import ask_about_items, lumbar_mri_call, the_card

SELECT_URL = "/cds-services/spinal-imaging-order-select"


def test_the_questionnaire_is_valid_r4_and_asks_every_card_question_with_a_coded_item(
    client: FlaskClient,
) -> None:
    response = client.get("/Questionnaire/spinal-red-flags")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    Questionnaire.model_validate(body)
    assert body["url"].endswith("/Questionnaire/spinal-red-flags")
    rules = load_pathway_rules()
    asked = {q.flag.value: q.question for q in (*rules.ask_about, *rules.ask_when_unmeasured)}
    assert {item["linkId"]: item["text"] for item in body["item"]} == asked
    for item in body["item"]:
        (code,) = item["code"]
        assert code["code"] == item["linkId"]
        assert code["system"].endswith("/CodeSystem/spinal-red-flag")
        assert item["type"] == "boolean"


def test_the_card_asks_in_the_questionnaires_words(client: FlaskClient) -> None:
    card = the_card(client.post(SELECT_URL, json=lumbar_mri_call()).get_json())
    texts = {item["text"] for item in client.get("/Questionnaire/spinal-red-flags").get_json()["item"]}
    assert ask_about_items(card)
    assert set(ask_about_items(card)) <= {text.replace("(", "\\(").replace(")", "\\)") for text in texts}
