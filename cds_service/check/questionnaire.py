"""The red-flag questions as a FHIR R4 Questionnaire (SDC style): `GET /Questionnaire/spinal-red-flags`.

Generated from the same knowledge as the cards and the check page (pathway-rules.json `ask_about`
and `ask_when_unmeasured`, labels from cards_templates/labels.json), so an EHR or a SMART app asks
exactly what the card asks. Each item's `linkId` is the red-flag id and its `code` the red-flag id in
the service's CodeSystem; the answer is a boolean (true: yes, the red flag is present).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, json

from cds_service.app_parts import knowledge_of, service_version, settings_of
from cds_service.cards.templating import labels
from cds_service.knowledge import Knowledge
from cds_service.rules.pathway_rules import load_pathway_rules
from cds_service.settings import Settings

QUESTIONNAIRE_ID = "spinal-red-flags"
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
FHIR_JSON = "application/fhir+json"

questionnaires = Blueprint("questionnaires", __name__)


def red_flag_system(settings: Settings) -> str:
    """The CodeSystem of the red-flag ids (the decision contract's codes)."""
    return f"{settings.canonical_base}/CodeSystem/spinal-red-flag"


def build_questionnaire(settings: Settings, knowledge: Knowledge) -> dict[str, Any]:
    """The Questionnaire resource: one coded boolean item per question the cards may ask."""
    rules = load_pathway_rules()
    names = labels()["red_flags"]
    system = red_flag_system(settings)
    guideline = knowledge.guideline
    items = [
        {
            "linkId": question.flag.value,
            "code": [{"system": system, "code": question.flag.value, "display": names[question.flag.value]}],
            "prefix": names[question.flag.value],
            "text": question.question,
            "type": "boolean",
            "required": False,  # unanswered means "not asked", as on the card
        }
        for question in (*rules.ask_about, *rules.ask_when_unmeasured)
    ]
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "meta": {"profile": [SDC_QUESTIONNAIRE]},
        "url": f"{settings.canonical_base}/Questionnaire/{QUESTIONNAIRE_ID}",
        "version": service_version(),
        "name": "SpinalRedFlags",
        "title": "Spinal imaging red-flag questions",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "spine-cds",
        "description": (
            f"The red flags a GP record rarely shows, asked before spinal imaging ({guideline.label}, "
            f"{guideline.version}). Answer true for yes, false for no; leave an item out if it was not asked."
        ),
        "item": items,
    }


@questionnaires.get(f"/Questionnaire/{QUESTIONNAIRE_ID}")
def questionnaire() -> Response:
    """The Questionnaire, built once per process (it holds no patient data)."""
    body = current_app.extensions.get("spine_cds.questionnaire")
    if body is None:
        settings = settings_of(current_app)
        knowledge = knowledge_of(current_app)
        body = json.dumps(build_questionnaire(settings, knowledge))
        current_app.extensions["spine_cds.questionnaire"] = body
    return Response(body, mimetype=FHIR_JSON)


def install_questionnaires(app: Flask) -> None:
    """Serve the Questionnaire."""
    app.register_blueprint(questionnaires)
