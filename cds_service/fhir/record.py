"""The patient record as the rules read it: raw FHIR JSON, triaged by type and indexed by code.

Full `fhir.resources` validation of every resource costs ~0.1 ms each, more than a large record's
latency budget, so the record keeps the client's JSON and indexes it cheaply; the rules read only
the resources whose codes they look up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

Resource = dict[str, Any]

# Resource types the rules read; anything else in a prefetch Bundle is ignored.
RECORD_TYPES = (
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
)


def codings(concept: Any) -> Iterator[tuple[str | None, str | None, str | None]]:
    """Yield (system, code, display) for each coding of a CodeableConcept, tolerating bad shapes."""
    if isinstance(concept, list):  # real clients send lists where R4 wants one object and vice versa
        for item in concept:
            yield from codings(item)
        return
    if not isinstance(concept, dict):
        return
    raw = concept.get("coding")
    items = raw if isinstance(raw, list) else [raw]
    for coding in items:
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
            display = coding.get("display")
            yield (
                system if isinstance(system, str) else None,
                code if isinstance(code, str) else None,
                display if isinstance(display, str) else None,
            )


def concept_text(concept: Any) -> str:
    """The human text of a CodeableConcept: its text, else the displays joined."""
    if isinstance(concept, list):
        return " ".join(concept_text(item) for item in concept).strip()
    if not isinstance(concept, dict):
        return ""
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    return " ".join(d for _, _, d in codings(concept) if d).strip()


def pruned(value: Any) -> Any:
    """Parsed JSON without null, empty or non-finite values: `value` itself when it has none, else
    `pruned_copy`.

    What it returns may be `value` itself: share it, never change it (copy the level you change).
    """
    # Most orders have nothing to prune, and copying them was most of what building their actions
    # allocated. Their JSON text (orjson, in C) then shows no null, "", {} or []; orjson writes the
    # NaN and Infinity that `json.loads` accepts as null, so they are seen too. A false alarm (such
    # text inside a string) or what orjson cannot encode only costs the copy.
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:  # not plain JSON, or nested deeper than orjson goes
        return pruned_copy(value)
    if b"null" in text or b'""' in text or b"{}" in text or b"[]" in text:
        return pruned_copy(value)
    return value


def pruned_copy(value: Any) -> Any:
    """A deep copy without null, empty or non-finite values, which FHIR JSON (and CDS Hooks) forbid.

    Real clients send `code.coding: [{}]` or `note: []`; a resource we send back must not. NaN and
    Infinity (not JSON, but read by the lenient parser) would be written back as null: dropped too.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            kept = _pruned_item(item)
            if kept is not _EMPTY:
                out[key] = kept
        return out
    if isinstance(value, list):
        return [kept for item in value if (kept := _pruned_item(item)) is not _EMPTY]
    return value


_EMPTY = object()


def _pruned_item(item: Any) -> Any:
    """An element's pruned copy, or _EMPTY when it is null, "", NaN, infinite or (once pruned) an
    empty object or list."""
    # Scalars are returned as they are without a call: a card copies the order two or three times.
    if isinstance(item, (dict, list)):
        copied = pruned_copy(item)
        return copied if copied else _EMPTY
    if isinstance(item, float):
        return item if math.isfinite(item) else _EMPTY
    return _EMPTY if item is None or item == "" else item


def reference_of(resource: Resource) -> str | None:
    """`Type/id` for a resource, or None when it has no id."""
    rid = resource.get("id")
    rtype = resource.get("resourceType")
    if isinstance(rid, str) and isinstance(rtype, str):
        return f"{rtype}/{rid}"
    return None


def _index(
    res: Resource,
    system: object,
    code: object,
    by_code: dict[tuple[str, str], list[Resource]],
) -> None:
    if code and isinstance(code, str) and system and isinstance(system, str):
        by_code[(system, code)].append(res)


# The element that carries each resource type's main code.
CODE_ELEMENT = {
    "Condition": "code",
    "Observation": "code",
    "Procedure": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
    "ServiceRequest": "code",
}


@dataclass
class PatientRecord:
    """What is known about the patient for one hook call.

    `unavailable` names the data categories ("conditions", "medications", "observations",
    "procedures", "patient") that could not be read, so that the rules say what was not checked
    rather than treating missing data as a negative.
    """

    patient: Resource | None
    resources: dict[str, list[Resource]]
    as_of: date
    unavailable: frozenset[str] = frozenset()
    draft_orders: tuple[Resource, ...] = ()
    _by_code: dict[tuple[str, str], list[Resource]] = field(default_factory=dict, repr=False)
    # Plain-language notes for the card: data sent for this call that was not used (another patient's).
    set_aside: tuple[str, ...] = ()
    # The QuestionnaireResponses the `questionnaireResponses` prefetch key gave (None: not read).
    questionnaire_responses: tuple[Resource, ...] | None = None

    @classmethod
    def from_resources(
        cls,
        patient: Resource | None,
        resources: Iterable[Resource],
        *,
        as_of: date,
        unavailable: Iterable[str] = (),
        draft_orders: Iterable[Resource] = (),
    ) -> PatientRecord:
        """Triage raw resources by type and index them by code; duplicates (same id) kept once."""
        by_type: dict[str, list[Resource]] = {t: [] for t in RECORD_TYPES}
        seen: set[str] = set()
        by_code: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        # The usual shapes are read inline (codings() only for odd ones): this loop runs once per
        # resource, and generators per resource cost a fifth of a 5,000-resource record's build.
        for res in resources:
            if not isinstance(res, dict):
                continue
            rtype = res.get("resourceType")
            if not isinstance(rtype, str) or rtype not in by_type:
                continue
            rid = res.get("id")
            if isinstance(rid, str):
                ref = f"{rtype}/{rid}"
                if ref in seen:
                    continue
                seen.add(ref)
            by_type[rtype].append(res)
            concept = res.get(CODE_ELEMENT[rtype])
            raw = concept.get("coding") if isinstance(concept, dict) else None
            if isinstance(raw, list):  # the well-formed case: a CodeableConcept with a coding list
                for coding in raw:
                    if isinstance(coding, dict):
                        _index(res, coding.get("system"), coding.get("code"), by_code)
            else:
                for system, code, _ in codings(concept):
                    _index(res, system, code, by_code)
        return cls(
            patient=patient,
            resources=by_type,
            as_of=as_of,
            unavailable=frozenset(unavailable),
            draft_orders=tuple(o for o in draft_orders if isinstance(o, dict)),
            _by_code=dict(by_code),
        )

    def of_type(self, resource_type: str) -> list[Resource]:
        """All resources of one type (empty when none or unavailable)."""
        return self.resources.get(resource_type, [])

    def with_code(self, system: str, code: str) -> list[Resource]:
        """Resources whose main code is system|code (cost independent of record size)."""
        return self._by_code.get((system, code), [])

    def indexed_codes(self) -> AbstractSet[tuple[str, str]]:
        """Every (system, code) some resource's main code carries (what `with_code` can find)."""
        return self._by_code.keys()

    def with_any_code(self, codes: Iterable[tuple[str, str]]) -> list[Resource]:
        """Resources whose main code is any of the (system, code) pairs, each once."""
        out: list[Resource] = []
        seen: set[int] = set()
        for key in codes:
            for res in self._by_code.get(key, []):
                if id(res) not in seen:
                    seen.add(id(res))
                    out.append(res)
        return out
