"""What the detectors found: red flags with evidence, plus the details the pathway rules read.

A red flag id alone cannot choose a pathway (a listed cancer and a basal cell carcinoma are both
"history of cancer" in the wider sense; a fever and a systolic of 80 are both "unwell"), so each
flag carries *features* ("listed-site", "metastatic", "sepsis-high-risk") that pathway-rules.json
names. Facts about the order and patient that are not flags ("older-age", "cervical-order") are
features too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from cds_service.fhir.record import PatientRecord, Resource, concept_text, reference_of
from cds_service.knowledge import Knowledge
from cds_service.rules.detectors.lookups import KnowledgeLookups
from cds_service.rules.detectors.order_words import affirmed_parts, order_texts
from cds_service.rules.model import AskAbout, CodeRef, Evidence, ImagingOrder, RedFlag, RedFlagId

SNOMED = "http://snomed.info/sct"
# Each flag's place in the enum (the order flags are shown in), without walking the enum per call.
FLAG_ORDER = {flag: place for place, flag in enumerate(RedFlagId)}


@dataclass
class Findings:
    """Everything detection learnt about one order's patient, in the order it was found."""

    flags: dict[RedFlagId, list[Evidence]] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    not_checked: list[str] = field(default_factory=list)
    ask_about: list[AskAbout] = field(default_factory=list)
    infection_bloods: list[Evidence] = field(default_factory=list)
    measured: set[str] = field(default_factory=set)  # "weight-series", "vital-signs": data that exists
    sciatica: list[Evidence] = field(default_factory=list)  # becomes a flag only with limb weakness
    spinal_surgery: list[date | None] = field(default_factory=list)  # when each spinal operation was
    age: int | None = None
    deceased: Evidence | None = None  # the record says the patient has died: a wrong-patient warning

    def add(self, flag: RedFlagId, evidence: Evidence, *features: str) -> None:
        """Record a red flag (once per piece of evidence) and the features it brings."""
        found = self.flags.setdefault(flag, [])
        if evidence not in found:
            found.append(evidence)
        self.features.update(features)

    def note_unchecked(self, text: str) -> None:
        """Say, in plain language, something that could not be checked."""
        if text not in self.not_checked:
            self.not_checked.append(text)

    def red_flags(self) -> tuple[RedFlag, ...]:
        """The flags found, in a stable order (the enum's order), each with its evidence."""
        found = sorted(self.flags, key=FLAG_ORDER.__getitem__)
        return tuple(RedFlag(flag, tuple(self.flags[flag])) for flag in found)


class ConditionFacts(NamedTuple):
    """What every rule reads of a condition besides its code."""

    verification: str | None  # verificationStatus code
    clinical: str | None  # clinicalStatus code
    onset: date | None


@dataclass
class Reading:
    """One detection pass: the order, the record, the knowledge and the date it is judged at."""

    order: ImagingOrder
    record: PatientRecord
    knowledge: Knowledge
    on: date  # the order date: authoredOn when given, else the record's as-of date
    _loose_conditions: list[Resource] | None = None
    _worded_conditions: dict[str, list[tuple[Resource, str]]] | None = None
    _order_texts: list[OrderText] | None = None
    _conditions_in: dict[str, list[tuple[Resource, CodeRef]]] = field(default_factory=dict)
    _lookups: KnowledgeLookups | None = None
    _coded_keys: dict[str, list[tuple[int, tuple[str, str]]]] | None = None
    _words_in: dict[str, Mapping[str, str]] = field(default_factory=dict)
    _condition_sets: Collection[str] | None = None
    uncoded_procedures: list[Resource] | None = None  # worked out by the procedures detector
    condition_facts: dict[int, ConditionFacts] = field(default_factory=dict)  # by id(): conditions.facts

    @property
    def lookups(self) -> KnowledgeLookups:
        """The per-process lookups for this knowledge (text matches, the value sets of each code)."""
        if self._lookups is None:
            self._lookups = KnowledgeLookups.for_knowledge(self.knowledge)
        return self._lookups

    def threshold(self, name: str) -> Any:
        """A named threshold from knowledge/thresholds.json."""
        return self.knowledge.threshold(name)

    def loose_conditions(self) -> list[Resource]:
        """Conditions not coded in SNOMED CT (ICD-10, local codes, text only): matched one by one.

        SNOMED-coded conditions are found through the record's code index; these others need the
        value set's prefix and text matching, so they are scanned (they are few in real records).
        """
        if self._loose_conditions is None:
            self._sort_conditions()
        return self._loose_conditions or []

    def worded_conditions(self, value_set_id: str) -> list[tuple[Resource, str]]:
        """SNOMED-coded conditions whose words (text or display) the value set's text patterns match.

        A SNOMED code the value set does not list (a newer or national concept, "Saddle anaesthesia"
        under a local id) must not hide what the entry says, so the words are read too.
        """
        return self._worded_conditions_by_set().get(value_set_id, [])

    def _worded_conditions_by_set(self) -> dict[str, list[tuple[Resource, str]]]:
        if self._worded_conditions is None:
            self._sort_conditions()
        return self._worded_conditions or {}

    def _sort_conditions(self) -> None:
        """One pass over the conditions: loose ones, and SNOMED ones grouped by their words."""
        loose: list[Resource] = []
        by_text: dict[str, list[Resource]] = {}
        for res in self.record.of_type("Condition"):
            code = res.get("code")
            if _snomed_only(code):
                by_text.setdefault(concept_text(code), []).append(res)
            else:
                loose.append(res)
        worded: dict[str, list[tuple[Resource, str]]] = {}
        for text, group in by_text.items():
            for value_set_id, matched in self.words_in(text).items():
                worded.setdefault(value_set_id, []).extend((res, matched) for res in group)
        self._loose_conditions, self._worded_conditions = loose, worded

    def order_texts(self) -> list[OrderText]:
        """The order's free texts with their affirmed parts, worked out once per decision."""
        if self._order_texts is None:
            self._order_texts = []
            read: dict[str, tuple[tuple[str, ...], tuple[Mapping[str, str], ...]]] = {}
            for text, where in order_texts(self.order.resource):
                # A reason's text and its coding's display are often the same words: read them once.
                if text not in read:
                    parts = tuple(affirmed_parts(text))
                    read[text] = (parts, tuple(self.words_in(part) for part in parts))
                parts, matches = read[text]
                self._order_texts.append(OrderText(text, where, parts, matches))
        return self._order_texts

    def words_in(self, text: str) -> Mapping[str, str]:
        """{value set id: matched words} for a text of this record or order.

        Worked out once per decision: the order's reason text, its coding's display and the problem
        list entry are often the same words ("Low back pain"), and matching is the costly part.
        """
        found = self._words_in.get(text)
        if found is None:
            found = self._words_in[text] = self.lookups.words.matches(text)
        return found

    def match(self, value_set_id: str, concept: Any) -> CodeRef | None:
        """`ValueSet.match`: the concept's first coding in the set, else the words its text patterns
        match, read from this decision's `words_in` (a record's texts recur across sets)."""
        value_set = self.knowledge.value_set(value_set_id)
        if value_set_id not in self.lookups.words.set_ids:  # no text patterns, or an order's set
            return value_set.match(concept)
        coded = value_set.match_coding(concept)
        if coded is not None:
            return coded
        words = self.words_in(concept_text(concept)).get(value_set_id)
        return CodeRef(None, None, words) if words is not None else None

    def coded(self, value_set_id: str) -> list[Resource]:
        """Resources of any type whose main code is one the value set lists exactly.

        The same as `record.with_any_code(value_set.keys())`, in the same order, but found from the
        record's codes, each looked up once per decision, rather than from every set's codes.
        """
        self.knowledge.value_set(value_set_id)  # an unknown set is a mistake: fail as before
        found = self._codes_by_set().get(value_set_id)
        if not found:
            return []
        return self.record.with_any_code(key for _, key in sorted(found))

    def _codes_by_set(self) -> dict[str, list[tuple[int, tuple[str, str]]]]:
        """Value set id -> (place in the set, code) for each of the record's codes the set lists."""
        if self._coded_keys is None:
            by_set: dict[str, list[tuple[int, tuple[str, str]]]] = {}
            sets_of_code = self.lookups.sets_of_code
            # Only the record's codes some set lists (a C set intersection; most codes are in none).
            # The order they come in does not matter: `coded` sorts by place in the set.
            for key in self.record.indexed_codes() & sets_of_code.keys():
                for set_id, place in sets_of_code[key]:
                    by_set.setdefault(set_id, []).append((place, key))
            self._coded_keys = by_set
        return self._coded_keys

    def conditions_in(self, value_set_id: str) -> list[tuple[Resource, CodeRef]]:
        """Conditions whose code (or, uncoded, whose text) is in the value set, each with what matched.

        Worked out once per decision and value set (several detectors ask about the same sets).
        """
        found = self._conditions_in.get(value_set_id)
        if found is None:
            found = self._conditions_in[value_set_id] = self._find_conditions(value_set_id)
        return found

    def _find_conditions(self, value_set_id: str) -> list[tuple[Resource, CodeRef]]:
        self.knowledge.value_set(value_set_id)  # an unknown set is a mistake: fail as before
        if value_set_id not in self.sets_with_conditions():
            return []
        out: list[tuple[Resource, CodeRef]] = []
        seen: set[int] = set()
        indexed = self.coded(value_set_id)
        for res in [*indexed, *self.loose_conditions()]:
            if res.get("resourceType") != "Condition" or id(res) in seen:
                continue
            matched = self.match(value_set_id, res.get("code"))
            if matched is not None:
                seen.add(id(res))
                out.append((res, matched))
        for res, words in self.worded_conditions(value_set_id):
            if id(res) not in seen:
                seen.add(id(res))
                out.append((res, CodeRef(None, None, words)))
        return out

    def require(self, value_set_ids: frozenset[str]) -> None:
        """Fail, naming the sets there are, when the knowledge lacks one of these value sets."""
        missing = value_set_ids - self.knowledge.value_sets.keys()
        if missing:
            self.knowledge.value_set(min(missing))  # raises, as a look-up of the missing set would

    def sets_with_conditions(self) -> Collection[str]:
        """The sets a condition of this record may be in: coded in them or worded like them.

        Detection asks about some thirty sets and a record's few conditions fall in one or two, so
        the other sets are answered without reading anything.
        """
        if self._condition_sets is None:
            if not self.record.of_type("Condition"):
                self._condition_sets = frozenset()
            elif self.loose_conditions():
                # Matched one by one, by prefix and text: any set may hold them.
                self._condition_sets = self.knowledge.value_sets.keys()
            else:
                self._condition_sets = self._codes_by_set().keys() | self._worded_conditions_by_set().keys()
        return self._condition_sets


@dataclass(frozen=True)
class OrderText:
    """One free text on the order (reason or note), where it was, and the parts it affirms."""

    text: str
    where: str
    affirmed: tuple[str, ...]
    # For each affirmed part: {value set id: the words its text patterns matched}.
    matches: tuple[Mapping[str, str], ...] = ()


def _snomed_only(concept: Any) -> bool:
    """True when every coding of the concept is SNOMED CT (and there is at least one)."""
    if not isinstance(concept, dict):
        return False
    coding = concept.get("coding")
    if not isinstance(coding, list) or not coding:
        return False
    for c in coding:  # noqa: SIM110 - a loop, not all() over a generator: it runs for every condition
        if not (isinstance(c, dict) and c.get("system") == SNOMED and c.get("code")):
            return False
    return True


def status_of(res: Resource) -> str | None:
    """A resource's `status` code, or None when it is absent or not a string."""
    status = res.get("status")
    return status if isinstance(status, str) else None


def parse_date(value: Any) -> date | None:
    """The calendar date of a FHIR date or dateTime ("2020", "2020-05", "2020-05-17T10:00:00Z")."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) == 4:
            return date(int(value), 1, 1)
        if len(value) == 7:
            return date(int(value[:4]), int(value[5:7]), 1)
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def describe(matched: CodeRef, fallback: str = "") -> str:
    """Human text for what matched: "Osteoporosis (SNOMED 64859006)" or the matched words."""
    label = matched.display or fallback or "coded entry"
    if matched.code:
        system = _SYSTEM_NAMES.get(matched.system or "", matched.system or "code")
        return f"{label} ({system} {matched.code})"
    return f'"{label}" (text)'


_SYSTEM_NAMES = {
    SNOMED: "SNOMED",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://www.whocc.no/atc": "ATC",
}


def evidence_for(res: Resource, matched: CodeRef, when: date | str | None, source: str) -> Evidence:
    """Evidence pointing at a resource, naming what matched and when."""
    text = concept_text(res.get("code") or res.get("medicationCodeableConcept"))
    dated = when.isoformat() if isinstance(when, date) else when
    return Evidence(
        reference=reference_of(res), what=describe(matched, text), code=matched, date=dated, source=source
    )


def years_between(born: date, on: date) -> int:
    """Whole years from `born` to `on` (age on a date)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def months_before(on: date, months: int) -> date:
    """The date `months` calendar months before `on` (day clamped to the month's length)."""
    year, month = divmod(on.year * 12 + on.month - 1 - months, 12)
    month += 1
    for day in (on.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, 28)
