"""Age at the order date and whether this is a NEW presentation of spinal pain.

Design.md safety rule 4: "new presentation" means the first back-pain record is recent; a
60-year-old with back pain coded for a decade is not a new presentation.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from cds_service.rules.detectors.conditions import NEVER_COUNTS, facts
from cds_service.rules.detectors.findings import Findings, Reading, describe, parse_date, years_between
from cds_service.rules.model import Evidence, RedFlagId, Region

SOURCE = "patient"


def order_date(order_resource: dict[str, object], as_of: date) -> date:
    """The date the order is judged at: its authoredOn when given, else the record's as-of date."""
    return parse_date(order_resource.get("authoredOn")) or as_of


def detect_patient(reading: Reading, findings: Findings) -> None:
    """Age-related facts and the new-onset-under-20 / over-55 flags."""
    patient = reading.record.patient
    if patient is None or "patient" in reading.record.unavailable:
        findings.note_unchecked("the patient's age could not be read, so the age flags were not checked")
        return
    findings.deceased = deceased(patient, reading.on)
    born = parse_date(patient.get("birthDate"))
    if born is None:
        findings.note_unchecked("no birth date on record, so the age flags were not checked")
        return
    age = years_between(born, reading.on)
    findings.age = age
    if age >= int(reading.threshold("fracture_older_age")):
        findings.features.add("older-age")
    if age >= int(reading.threshold("neck_injury_emergency_age")):
        findings.features.add("neck-injury-age")
    if age < int(reading.threshold("minimum_age_for_guideline")):
        findings.note_unchecked(f"the guideline's evidence is for adults; the patient is {age}")
    if Region.CERVICAL in reading.order.regions:
        findings.features.add("cervical-order")
    under, over = int(reading.threshold("new_onset_under_age")), int(reading.threshold("new_onset_over_age"))
    malignancy_age = int(reading.threshold("new_presentation_malignancy_age"))
    if under <= age <= min(over, malignancy_age):
        return
    if "conditions" in reading.record.unavailable:
        findings.note_unchecked("whether this is a new presentation of back pain (problem list not read)")
        return
    earliest = earliest_back_pain(reading)
    window = timedelta(weeks=int(reading.threshold("new_presentation_weeks")))
    if earliest is not None and reading.on - earliest[0] > window:
        return  # long-standing pain: not a new presentation
    if age > malignancy_age:
        findings.features.add("new-presentation-over-50")
    if under <= age <= over:
        return  # over 50 but not over 55: a malignancy pointer, not the guideline's age flag
    flag = RedFlagId.NEW_ONSET_UNDER_20 if age < under else RedFlagId.NEW_ONSET_OVER_55
    since = (
        f"first back-pain record {earliest[0].isoformat()} ({earliest[1]})"
        if earliest
        else "no earlier back-pain record"
    )
    what = f"Aged {age} at the order date, new presentation: {since}"
    findings.add(flag, Evidence(reference=None, what=what, date=reading.on.isoformat(), source=SOURCE))


def deceased(patient: dict[str, object], on: date) -> Evidence | None:
    """Evidence that the record marks the patient as dead by the order date, else None."""
    died = patient.get("deceasedDateTime")
    reference = f"Patient/{patient['id']}" if isinstance(patient.get("id"), str) else None
    if isinstance(died, str):
        when = parse_date(died)
        # A death dated after the order (an old order evaluated later) does not concern that order.
        if when is not None and when > on:
            return None
        if when is None:
            return Evidence(reference, "The record says the patient has died", None, None, SOURCE)
        what = f"The record says the patient died on {when.isoformat()}"
        return Evidence(reference, what, None, when.isoformat(), SOURCE)
    if patient.get("deceasedBoolean") is True:
        return Evidence(reference, "The record marks the patient as deceased", None, None, SOURCE)
    return None


# "back pain for 3 months", "2 weeks of pain", "since 10 days": the GP's stated duration of the episode.
STATED_DURATION = re.compile(
    r"\b(?:for|since|over|past|last|x)\s+(?:the\s+)?(\d+)\s*(day|week|wk|month|mo|year|yr)s?\b"
    r"|\b(\d+)\s*(day|week|wk|month|mo|year|yr)s?\s+(?:of|history|hx|duration)\b",
    re.IGNORECASE,
)
DAYS_PER_UNIT = {"day": 1, "week": 7, "wk": 7, "month": 30, "mo": 30, "year": 365, "yr": 365}


def stated_onset(reading: Reading) -> date | None:
    """The onset the order's reason or notes state ("back pain for 3 months"), if any."""
    for said in reading.order_texts():
        found = STATED_DURATION.search(said.text)
        if found:
            number = found.group(1) or found.group(3)
            unit = (found.group(2) or found.group(4)).lower()
            return reading.on - timedelta(days=int(number) * DAYS_PER_UNIT[unit])
    return None


def earliest_back_pain(reading: Reading) -> tuple[date, str] | None:
    """The date and description of the earliest spinal-pain record or stated onset (refuted ones ignored)."""
    stated = stated_onset(reading)
    earliest: tuple[date, str] | None = (stated, "onset stated on the order") if stated else None
    for value_set_id in ("back-pain", "thoracic-back-pain", "sciatica"):
        for res, matched in reading.conditions_in(value_set_id):
            verification, _, onset = facts(reading, res)
            if verification in NEVER_COUNTS:
                continue
            if onset is not None and (earliest is None or onset < earliest[0]):
                earliest = (onset, describe(matched))
    return earliest
