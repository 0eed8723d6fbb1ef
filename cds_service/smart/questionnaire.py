"""The red-flag questions as a FHIR R4 Questionnaire (SDC style), and answers as a QuestionnaireResponse.

One source for card, page and Questionnaire: the questions are the ask-about entries of
knowledge/pathway-rules.json, in that order; each item's `linkId` and code are the red-flag id of
the decision contract (rules/model.py), in the project's red-flag CodeSystem under
SPINE_CDS_CANONICAL_BASE. Answers are the yes/no codes of HL7 v2 table 0136, which EHR forms know.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from cds_service.cards.render import labels
from cds_service.fhir.questionnaire_answers import YES_NO_SYSTEM
from cds_service.knowledge import Knowledge
from cds_service.rules.model import RedFlagId
from cds_service.rules.pathway_rules import Question, load_pathway_rules
from cds_service.settings import Settings

QUESTIONNAIRE_ID = "spinal-red-flags"
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
YES_NO: dict[str, dict[str, str]] = {
    "yes": {"system": YES_NO_SYSTEM, "code": "Y", "display": "Yes"},
    "no": {"system": YES_NO_SYSTEM, "code": "N", "display": "No"},
}
Answer = Literal["yes", "no"]


def questionnaire_url(settings: Settings) -> str:
    """The Questionnaire's canonical URL (what a QuestionnaireResponse's `questionnaire` names)."""
    return f"{settings.canonical_base}/Questionnaire/{QUESTIONNAIRE_ID}"


def red_flag_system(settings: Settings) -> str:
    """The project's red-flag CodeSystem: its codes are the red-flag ids of the decision contract."""
    return f"{settings.canonical_base}/CodeSystem/red-flag"


def red_flag_questions() -> tuple[Question, ...]:
    """Every question a card may ask, each red flag once, in the knowledge file's order."""
    rules = load_pathway_rules()
    seen: dict[RedFlagId, Question] = {}
    for question in (*rules.ask_about, *rules.ask_when_unmeasured):
        seen.setdefault(question.flag, question)
    return tuple(seen.values())


def _items(settings: Settings) -> list[dict[str, Any]]:
    names: Mapping[str, str] = labels()["red_flags"]
    return [
        {
            "linkId": question.flag.value,
            "code": [
                {
                    "system": red_flag_system(settings),
                    "code": question.flag.value,
                    "display": names.get(question.flag.value, question.flag.value),
                }
            ],
            "text": question.question,
            "type": "choice",
            "required": False,  # unanswered means "not asked": the card keeps asking
            "answerOption": [{"valueCoding": dict(coding)} for coding in YES_NO.values()],
        }
        for question in red_flag_questions()
    ]


def questionnaire(knowledge: Knowledge, settings: Settings) -> dict[str, Any]:
    """The Questionnaire resource served at `GET /Questionnaire/spinal-red-flags`.

    `version` is a digest of the items, so it changes exactly when a question, code or answer does.
    """
    items = _items(settings)
    digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    guideline = knowledge.guideline
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "meta": {"profile": [SDC_QUESTIONNAIRE]},
        "url": questionnaire_url(settings),
        "version": digest,
        "name": "SpinalRedFlags",
        "title": "Spinal red flags the record cannot show",
        "status": "active",
        "subjectType": ["Patient"],
        "date": guideline.checked.isoformat(),
        "publisher": "spine-cds",
        "description": (
            f"The red-flag questions of {guideline.label} that a GP record rarely holds as codes. "
            "Answer yes or no; leave a question unanswered when it was not asked."
        ),
        "item": items,
    }


def canonical_with_version(resource: Mapping[str, Any]) -> str:
    """`url|version`, as a QuestionnaireResponse names the Questionnaire it answers."""
    return f"{resource['url']}|{resource['version']}"


def questionnaire_response(
    form: Mapping[str, Any],
    answers: Mapping[RedFlagId, Answer],
    *,
    patient_id: str,
    authored: datetime,
) -> dict[str, Any]:
    """A completed QuestionnaireResponse for the patient: one item per question answered."""
    by_flag = {item["linkId"]: item for item in form["item"]}
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical_with_version(form),
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored.isoformat(timespec="seconds"),
        "item": [
            {
                "linkId": flag.value,
                "text": by_flag[flag.value]["text"],
                "answer": [_answer_value(by_flag[flag.value], answer)],
            }
            for flag, answer in answers.items()
            if flag.value in by_flag
        ],
    }


def _answer_value(item: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    """The answer in the item's own type: a boolean item takes `valueBoolean`, a choice the Y/N Coding."""
    if item.get("type") == "boolean":
        return {"valueBoolean": answer == "yes"}
    return {"valueCoding": dict(YES_NO[answer])}
