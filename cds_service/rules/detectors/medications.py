"""Red flags from medicines: systemic corticosteroids and immunosuppressants, current or long-term.

Design.md safety rule 3: systemic, current or long-term steroids count; topical and inhaled ones do
not; a short course years ago does not. Records send RxNorm ingredients or products, SNOMED/dm+d
or only text, so each medicine is matched by code and then by its text; local (topical, inhaled)
preparations are ruled out first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

import orjson

from cds_service.fhir.record import Resource, codings, concept_text
from cds_service.knowledge import ValueSet
from cds_service.rules.detectors.findings import (
    Findings,
    Reading,
    describe,
    months_before,
    parse_date,
)
from cds_service.rules.detectors.order_words import as_list
from cds_service.rules.detectors.pattern_set import PatternSet
from cds_service.rules.model import CodeRef, Evidence, RedFlagId

# Statuses that say the medicine was never taken or the entry is void.
VOID = frozenset({"entered-in-error", "cancelled", "not-taken", "revoked"})
# Statuses under which the medicine is being taken now.
ONGOING = frozenset({"active", "on-hold", "intended", "draft"})

UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30, "month": 30, "a": 365}


class Course(NamedTuple):
    """When a medicine was taken: start and end (None when open-ended) and whether it is ongoing.

    A named tuple, not a frozen dataclass: one is made for every steroid or immunosuppressant on the
    record, and a frozen dataclass costs several times as much to build.
    """

    start: date | None
    end: date | None
    ongoing: bool


def duration_days(quantity: Any) -> int | None:
    """A FHIR Duration in days, or None when absent or in an unknown unit."""
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return None
    unit = str(quantity.get("code") or quantity.get("unit") or "d").lower()
    factor = UNIT_DAYS.get(unit)
    return int(quantity["value"] * factor) if factor else None


def stated_end(res: Resource, start: date | None) -> date | None:
    """The end a prescription states: effective period, dosage bounds, validity or supply duration."""
    effective = res.get("effectivePeriod")
    end = parse_date(effective.get("end")) if isinstance(effective, dict) else None
    if end:
        return end
    dosages = res.get("dosageInstruction") or res.get("dosage")
    for dosage in as_list(dosages) if dosages is not None else ():
        timing = dosage.get("timing") if isinstance(dosage, dict) else None
        repeat = timing.get("repeat") if isinstance(timing, dict) else None
        if not isinstance(repeat, dict):
            continue
        bounds = repeat.get("boundsPeriod")
        end = parse_date(bounds.get("end")) if isinstance(bounds, dict) else None
        if end:
            return end
        days = duration_days(repeat.get("boundsDuration"))
        if days is not None and start is not None:
            return start + timedelta(days=days)
    dispense = res.get("dispenseRequest")
    if not isinstance(dispense, dict):
        return None
    validity = dispense.get("validityPeriod")
    end = parse_date(validity.get("end")) if isinstance(validity, dict) else None
    if end:
        return end
    supply = duration_days(dispense.get("expectedSupplyDuration"))
    if supply is not None and start is not None:
        repeats = dispense.get("numberOfRepeatsAllowed")
        fills = 1 + (repeats if isinstance(repeats, int) else 0)
        return start + timedelta(days=supply * fills)
    return None


def course_of(
    res: Resource, on: date, default_supply: timedelta, started_too_early: date | None = None
) -> Course | None:
    """When this MedicationRequest/Statement was taken, judged on the date `on`, or None when it never
    counts.

    `default_supply` is the assumed supply of a stopped prescription that states no end (the
    threshold medication_default_course_days, read once for all the record's medicines). A stopped
    prescription that states no end and started before `started_too_early` (the earliest look-back
    less that supply: its supply ran out before any window opens) is None too: records hold years
    of old courses, and none of them can count.
    """
    status = res.get("status")
    if not isinstance(status, str):
        status = None
    elif status in VOID:
        return None
    effective = res.get("effectivePeriod")
    start = parse_date(effective.get("start")) if isinstance(effective, dict) else None
    if start is None:
        start = parse_date(res.get("effectiveDateTime") or res.get("authoredOn") or res.get("dateAsserted"))
    if start is not None and start > on:
        return None  # prescribed after the order date
    if (
        started_too_early is not None
        and start is not None
        and start < started_too_early
        and status not in ONGOING
        # None of the elements `stated_end` reads (four look-ups, not a walk over the resource)
        and "effectivePeriod" not in res
        and "dosageInstruction" not in res
        and "dosage" not in res
        and "dispenseRequest" not in res
    ):
        return None  # an old stopped course: over before any look-back window opens
    end = stated_end(res, start)
    ongoing = status in ONGOING and (end is None or end >= on)
    if end is None and not ongoing and start is not None:
        # Stopped or completed with no stated end: assume one ordinary supply from the start.
        end = start + default_supply
    return Course(start, end, ongoing)


def days_within(course: Course, since: date, until: date) -> int:
    """Days of the course that fall inside [since, until]."""
    start = max(course.start or since, since)
    end = min(course.end or until, until) if not course.ongoing else until
    return max(0, (end - start).days)


class MedicineMatcher:
    """Matches a medicine concept against a value set by code, then by the set's text patterns.

    The text answer is what one alternation of all the set's patterns would find (the leftmost
    match; at the same place, the earlier pattern), but only the patterns RE2 shortlists are
    searched (`PatternSet`).
    """

    def __init__(self, value_set: ValueSet) -> None:
        self.value_set = value_set
        self.patterns = value_set.text_patterns
        self.shortlist = PatternSet(self.patterns)

    def match(
        self,
        codes: tuple[tuple[str | None, str | None, str | None], ...],
        text: str,
        candidates: Sequence[int] | None = None,
    ) -> CodeRef | None:
        """What in the medicine belongs to the set: a coding, else the words that matched.

        `candidates`, when given, are the set's patterns that could match the text, in order (worked
        out once for several sets by the caller); otherwise this set's own shortlist finds them.
        """
        for system, code, display in codes:
            if self.value_set.contains(system, code):
                return CodeRef(system, code, display)
        if not self.patterns or not text:
            return None
        if candidates is None:
            candidates = self.shortlist.candidates(text)
        leftmost: re.Match[str] | None = None
        for number in candidates:
            found = self.patterns[number].search(text)
            if found and (leftmost is None or found.start() < leftmost.start()):
                leftmost = found
        return CodeRef(None, None, leftmost.group(0)) if leftmost else None


@dataclass(frozen=True)
class MedicineClass:
    """What a medicine is, for the rules: a systemic steroid and/or an immunosuppressant (or neither)."""

    steroid: CodeRef | None
    immunosuppressant: CodeRef | None
    text: str = ""  # the medicine's text, as read for the match (for the evidence)


class MedicineClassifier:
    """Classifies medicines against the steroid and immunosuppressant sets (matchers built once).

    Nothing about a medicine is remembered between calls: it is a patient's record.
    """

    _by_knowledge: dict[int, tuple[ValueSet, MedicineClassifier]] = {}

    def __init__(self, local: ValueSet, steroid: ValueSet, immuno: ValueSet) -> None:
        self.local, self.steroid, self.immuno = (
            MedicineMatcher(local),
            MedicineMatcher(steroid),
            MedicineMatcher(immuno),
        )
        # One shortlist over the three sets' patterns: a medicine's words are read once, not three
        # times (most medicines on a record are none of these). Pattern number -> (set, own number).
        matchers = (self.local, self.steroid, self.immuno)
        self.owner = [(which, own) for which, m in enumerate(matchers) for own in range(len(m.patterns))]
        self.shortlist = PatternSet([p for m in matchers for p in m.patterns])
        # What a coding must look like for one of the sets to list it (see `_listed_nowhere`): an
        # exact key (aliases included), or a system with prefix codes (an alias of one too).
        sets = (local, steroid, immuno)
        self.keys = frozenset().union(*(value_set.keys() for value_set in sets))
        prefixed = {c.system for value_set in sets for c in value_set.concepts if c.prefix_match}
        aliases = {
            alias for vs in sets for alias, canonical in vs.system_aliases.items() if canonical in prefixed
        }
        self.prefix_systems = frozenset(prefixed | aliases)

    def _candidates(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """Each set's patterns (by its own numbers, in order) that could match the text."""
        split: tuple[list[int], list[int], list[int]] = ([], [], [])
        if text:
            for number in self.shortlist.candidates(text):
                which, own = self.owner[number]
                split[which].append(own)
        return split

    @classmethod
    def for_reading(cls, reading: Reading) -> MedicineClassifier:
        """The classifier for this knowledge (built once; keyed by the loaded value set's identity)."""
        local = reading.knowledge.value_set("local-corticosteroids")
        cached = cls._by_knowledge.get(id(local))
        if cached is None or cached[0] is not local:
            classifier = cls(
                local,
                reading.knowledge.value_set("systemic-corticosteroids"),
                reading.knowledge.value_set("immunosuppressants"),
            )
            cls._by_knowledge[id(local)] = (local, classifier)
            return classifier
        return cached[1]

    def classify(self, concept: Any) -> MedicineClass:
        """Steroid (unless a local preparation) and immunosuppressant matches for one medicine."""
        codes = coding_tuples(concept)
        text = concept_text(concept)
        local, steroid_words, immuno_words = self._candidates(text)
        if not (local or steroid_words or immuno_words) and self._listed_nowhere(codes):
            return MedicineClass(None, None, text)  # most medicines: no set's words, no set's code
        steroid = (
            None if self.local.match(codes, text, local) else self.steroid.match(codes, text, steroid_words)
        )
        return MedicineClass(steroid, self.immuno.match(codes, text, immuno_words), text)

    def _listed_nowhere(self, codes: tuple[tuple[str | None, str | None, str | None], ...]) -> bool:
        """True when no coding can be in any of the three sets (what `ValueSet.contains` would say,
        from one look-up per coding); False when a set must be asked."""
        for system, code, _ in codes:
            if not code:
                continue  # a coding without a code is in no set
            if system is None or code != code.strip() or system in self.prefix_systems:
                return False  # matched on the bare code, trimmed, or by prefix: ask the sets
            if (system, code) in self.keys:
                return False
        return True


def medicine_key(concept: Any) -> object:
    """What identifies a medicine's concept within one record: its JSON, built in C (records repeat
    the same products, serialised the same way), else the codings and text read from it."""
    try:
        return orjson.dumps(concept)
    except orjson.JSONEncodeError:  # not plain JSON
        return (coding_tuples(concept), concept_text(concept))


def coding_tuples(concept: Any) -> tuple[tuple[str | None, str | None, str | None], ...]:
    """`tuple(codings(concept))`, without a generator for the usual shape (a medicine list repeats it)."""
    raw = concept.get("coding") if isinstance(concept, dict) else None
    if isinstance(raw, list):
        out = []
        for coding in raw:
            if not isinstance(coding, dict):
                return tuple(codings(concept))
            system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
            out.append(
                (
                    system if isinstance(system, str) else None,
                    code if isinstance(code, str) else None,
                    display if isinstance(display, str) else None,
                )
            )
        return tuple(out)
    return tuple(codings(concept))


def medicine_concept(res: Resource) -> Any:
    """The medicine's CodeableConcept: inline, from a contained Medication, or the reference's display."""
    concept = res.get("medicationCodeableConcept")
    reference = res.get("medicationReference")
    if concept is not None or not isinstance(reference, dict):
        return concept
    target = reference.get("reference")
    for contained in as_list(res.get("contained")):
        if isinstance(contained, dict) and isinstance(target, str) and target == f"#{contained.get('id')}":
            code = contained.get("code")
            if isinstance(code, dict):
                return code
    return {"text": reference.get("display", "")}


def detect_medications(reading: Reading, findings: Findings) -> None:
    """Systemic steroids (current, or long-term in the last year) and immunosuppressants."""
    if "medications" in reading.record.unavailable:
        findings.note_unchecked("medications (steroids, immunosuppressants) could not be read")
        return
    medicines = [*reading.record.of_type("MedicationRequest"), *reading.record.of_type("MedicationStatement")]
    judge_medicines(reading, findings, medicines, source="medication")


def judge_medicines(reading: Reading, findings: Findings, medicines: list[Resource], *, source: str) -> None:
    """Find steroid and immunosuppressant use among these medicine resources."""
    if not medicines:
        return
    classifier = MedicineClassifier.for_reading(reading)
    lookback = months_before(reading.on, int(reading.threshold("steroid_lookback_months")))
    long_term_days = int(reading.threshold("steroid_long_term_months")) * 30
    immuno_since = months_before(reading.on, int(reading.threshold("immunosuppressant_lookback_months")))
    default_supply = timedelta(days=int(reading.threshold("medication_default_course_days")))
    too_early = min(lookback, immuno_since) - default_supply  # see course_of
    steroid_days = 0
    steroid_evidence: list[Evidence] = []
    # This record's medicines classified so far (one record repeats the same products); it must
    # not outlive the call: it is a patient's record.
    seen: dict[object, MedicineClass] = {}
    for res in medicines:
        concept = res.get("medicationCodeableConcept")
        if concept is None:
            concept = medicine_concept(res)
        key = medicine_key(concept)
        kind = seen.get(key)
        if kind is None:
            kind = seen[key] = classifier.classify(concept)
        if kind.steroid is None and kind.immunosuppressant is None:
            continue
        course = course_of(res, reading.on, default_supply, too_early)
        if course is None:
            continue
        text = kind.text
        steroid_hit, immuno_hit = kind.steroid, kind.immunosuppressant
        if steroid_hit is not None:
            days = days_within(course, lookback, reading.on)
            steroid_days += days
            evidence = medicine_evidence(res, steroid_hit, text, course, source)
            if course.ongoing:
                long_term = ("long-term-steroid",) if days >= long_term_days else ()
                findings.add(RedFlagId.CORTICOSTEROID_USE, evidence, "current-steroid", *long_term)
            elif days > 0:
                steroid_evidence.append(evidence)
        if immuno_hit is not None and (
            course.ongoing or (course.end is not None and course.end >= immuno_since)
        ):
            findings.add(
                RedFlagId.IMMUNOSUPPRESSION, medicine_evidence(res, immuno_hit, text, course, source)
            )
    if steroid_days >= long_term_days:
        for evidence in steroid_evidence:
            findings.add(RedFlagId.CORTICOSTEROID_USE, evidence, "long-term-steroid")


def medicine_evidence(res: Resource, matched: CodeRef, text: str, course: Course, source: str) -> Evidence:
    """Evidence for a medicine: what matched, and the course's dates."""
    what = describe(matched, text)
    if matched.code is None and text:
        what = f"{text} (matched {matched.display!r})"
    when = course.start.isoformat() if course.start else None
    status = "current" if course.ongoing else f"ended {course.end.isoformat()}" if course.end else "ended"
    rid, rtype = res.get("id"), res.get("resourceType")
    reference = f"{rtype}/{rid}" if isinstance(rid, str) and isinstance(rtype, str) else None
    return Evidence(reference=reference, what=f"{what}, {status}", code=matched, date=when, source=source)
