"""The published red-flag Questionnaire as the SMART app and the hooks use it, and the answers as a
QuestionnaireResponse.

The Questionnaire itself is built and served by cds_service/check/questionnaire.py (one source
for card, page and Questionnaire: the ask-about entries of knowledge/pathway-rules.json); each
item's `linkId` is a red-flag id and its type boolean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cds_service.check.questionnaire import QUESTIONNAIRE_ID
from cds_service.rules.answers import Answer
from cds_service.rules.model import RedFlagId
from cds_service.rules.pathway_rules import load_pathway_rules
from cds_service.settings import Settings


def questionnaire_url(settings: Settings) -> str:
    """The Questionnaire's canonical URL (what a QuestionnaireResponse's `questionnaire` names)."""
    return f"{settings.canonical_base}/Questionnaire/{QUESTIONNAIRE_ID}"


def asked_flags() -> Iterable[RedFlagId]:
    """The red flags the Questionnaire asks about (its items' linkIds)."""
    rules = load_pathway_rules()
    return (question.flag for question in (*rules.ask_about, *rules.ask_when_unmeasured))


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
        "questionnaire": f"{form['url']}|{form['version']}",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored.isoformat(timespec="seconds"),
        "item": [
            {
                "linkId": flag.value,
                "text": by_flag[flag.value]["text"],
                "answer": [{"valueBoolean": answer == "yes"}],
            }
            for flag, answer in answers.items()
            if flag.value in by_flag
        ],
    }
