"""The glue between a hook call and the answers the SMART app wrote to the EHR.

`ehr_answers` turns the record's `questionnaireResponses` into ClinicianAnswers for this patient;
`with_ehr_answers` adds them to the red-flag check page's answers for each order, the later answer
to a question winning. Answers given in the EHR are the patient's (a QuestionnaireResponse names no
order), so they apply to every spinal order of the call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from cds_service.fhir.questionnaire_answers import answer_rules, clinician_answers, combined
from cds_service.fhir.record import PatientRecord
from cds_service.rules.answers import ClinicianAnswers
from cds_service.rules.model import ImagingOrder
from cds_service.settings import Settings
from cds_service.smart.questionnaire import asked_flags, questionnaire_url

# The answers for each order of a call, by order reference (as the pipeline's AnswerFinder).
OrderAnswers = Callable[[Sequence[ImagingOrder]], Mapping[str, ClinicianAnswers]]


def smart_enabled(settings: Settings) -> bool:
    """True when the service is set up as a SMART app (SPINE_CDS_SMART_CLIENT_ID)."""
    return bool(settings.smart_client_id)


def ehr_answers(record: PatientRecord, *, patient_id: str, settings: Settings) -> ClinicianAnswers | None:
    """The clinician's answers in the EHR's recent QuestionnaireResponses for this patient.

    When the SMART app is in use and the responses could not be read, the card says so
    (ClinicianAnswers.could_not_be_read) instead of silently dropping a 'yes' given moments ago.
    """
    if record.questionnaire_responses is None:
        return ClinicianAnswers.could_not_be_read(datetime.now(UTC)) if smart_enabled(settings) else None
    rules = answer_rules(
        questionnaire_url=questionnaire_url(settings),
        questions=asked_flags(),
        patient_id=patient_id,
        valid_minutes=settings.answers_valid_minutes,
    )
    return clinician_answers(record.questionnaire_responses, rules)


def with_ehr_answers(find_answers: OrderAnswers | None, ehr: ClinicianAnswers | None) -> OrderAnswers:
    """The page's answers per order, with the EHR's answers added to every order."""

    def find(orders: Sequence[ImagingOrder]) -> Mapping[str, ClinicianAnswers]:
        page = find_answers(orders) if find_answers is not None else {}
        out = {}
        for order in orders:
            both = combined(page.get(order.reference), ehr)
            if both is not None:
                out[order.reference] = both
        return out

    return find
