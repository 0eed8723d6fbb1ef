"""The GP's own words on an order: its free texts, and the parts of each that assert something.

"No saddle anaesthesia, denies bladder symptoms" asserts nothing; "cauda equina not excluded"
asserts a suspicion. The detectors read only the affirmed parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cds_service.fhir.record import Resource, codings


def as_list(value: Any) -> list[Any]:
    """A FHIR repeating element as a list (clients sometimes send one object where a list belongs)."""
    if isinstance(value, list):
        return value
    return [value] if value is not None else []


# Sentences end at full stops, semicolons, line breaks and at "but": "no fever but night pain".
SENTENCE = re.compile(r"[.;!?\n]+|\bbut\b|\bhowever\b|\balthough\b", re.IGNORECASE)
# What follows one of these in a sentence is denied ("no saddle anaesthesia or retention").
NEGATION = re.compile(
    r"\b(no|not|denies|denied|denying|without|nil|never|negative\s+for|absence\s+of|free\s+of|"
    r"rules?\s+out\s+by)\b|-ve\b",
    re.IGNORECASE,
)
# Phrases that contain a negation word but assert a suspicion ("cauda equina not excluded").
PSEUDO_NEGATION = re.compile(
    r"\b(not|cannot|can't)\s+(be\s+|been\s+)?(excluded|ruled\s+out)\b|\bno\s+longer\s+(able|controls?)\b",
    re.IGNORECASE,
)


# "Not improving", "no better": a negation word that asserts the pain persists (failure to improve).
NOT_IMPROVING = re.compile(
    r"\b(not|no|isn't|hasn't|has\s+not|have\s+not|haven't)\s+(been\s+)?"
    r"(improv\w*|settl\w*|resolv\w*|better|gett?ing\s+better|respond\w*)\b",
    re.IGNORECASE,
)


def affirmed_parts(text: str) -> Iterator[str]:
    """The parts of free text that assert something: each sentence up to its first negation word."""
    for sentence in SENTENCE.split(text):
        cleaned = NOT_IMPROVING.sub(" nonimproving ", PSEUDO_NEGATION.sub(" suspected ", sentence))
        cue = NEGATION.search(cleaned)
        part = cleaned[: cue.start()] if cue else cleaned
        if part.strip():
            yield part


def order_texts(order: Resource) -> Iterator[tuple[str, str]]:
    """(text, where) for each free text on the order: reason texts and displays, and notes."""
    for concept in as_list(order.get("reasonCode")):
        text = concept.get("text") if isinstance(concept, dict) else None
        displays = [d for _, _, d in codings(concept) if d]
        for item in [text, *displays]:
            if isinstance(item, str) and item.strip():
                yield item, "order reason"
    for note in as_list(order.get("note")):
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            yield note["text"], "order note"
    for key in ("patientInstruction",):
        if isinstance(order.get(key), str):
            yield order[key], "order note"
