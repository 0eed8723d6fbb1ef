"""Lookups over the loaded knowledge that every hook call repeats, worked out once per process.

A small hook call reads the order's words against some forty value sets and looks up the record
under thirty-odd sets of codes: done naively, that matching was a quarter of the call's CPU. What
is worked out here depends only on the knowledge files; nothing from a record is kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from cds_service.knowledge import Knowledge
from cds_service.rules.detectors.pattern_set import PatternSet


class TextWords:
    """Which value sets' text patterns a text matches, and the words each matched.

    Nothing is remembered between texts (a text is a patient's words): each text is read afresh,
    searching only the patterns RE2 shortlists (`PatternSet`).
    """

    def __init__(self, knowledge: Knowledge) -> None:
        # The imaging sets classify orders; they are not findings.
        patterned = [
            (value_set_id, value_set)
            for value_set_id, value_set in knowledge.value_sets.items()
            if value_set.text_patterns and "imaging" not in value_set_id
        ]
        self.patterns = [p for _, value_set in patterned for p in value_set.text_patterns]
        # Pattern number -> the id of the set it belongs to (numbers run set by set, in set order).
        self.set_of = [value_set_id for value_set_id, value_set in patterned for _ in value_set.text_patterns]
        self.set_ids = frozenset(value_set_id for value_set_id, _ in patterned)  # the sets it reads
        self.shortlist = PatternSet(self.patterns)

    def matches(self, text: str) -> Mapping[str, str]:
        """{value set id: matched words} for every value set whose text patterns match this text.

        The same answer as each set's `ValueSet.match_text` (its first pattern that matches, in the
        set's order), searching only the patterns RE2 shortlists.
        """
        if not text:
            return {}
        found: dict[str, str] = {}
        set_of, patterns = self.set_of, self.patterns
        for number in self.shortlist.candidates(text):
            value_set_id = set_of[number]
            if value_set_id in found:
                continue
            matched = patterns[number].search(text)
            if matched:
                found[value_set_id] = matched.group(0).strip() or text
        return found


class KnowledgeLookups:
    """The lookups for one loaded knowledge: text matches, and where each code sits in its value set."""

    _by_knowledge: dict[int, tuple[Knowledge, KnowledgeLookups]] = {}

    def __init__(self, knowledge: Knowledge) -> None:
        self.words = TextWords(knowledge)
        # (system, code) -> (value set id, the code's first place in the set's record keys), so
        # that a record's few codes are looked up once each rather than every set's codes.
        self.sets_of_code: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for value_set_id, value_set in knowledge.value_sets.items():
            seen: set[tuple[str, str]] = set()
            for place, key in enumerate(value_set.keys()):
                if key not in seen:
                    seen.add(key)
                    self.sets_of_code.setdefault(key, []).append((value_set_id, place))

        # Code (any system) -> the sets listing it; first character of a prefix code -> the sets
        # that also match codes starting with it ("C79" takes "C79.5").
        self.sets_of_bare_code: dict[str, set[str]] = {}
        self.sets_of_prefix_start: dict[str, set[str]] = {}
        for value_set_id, value_set in knowledge.value_sets.items():
            for concept in value_set.concepts:
                self.sets_of_bare_code.setdefault(concept.code, set()).add(value_set_id)
                if concept.prefix_match:
                    start = concept.code.replace(".", "")[:1]
                    self.sets_of_prefix_start.setdefault(start, set()).add(value_set_id)
        self.knowledge = knowledge

    def sets_containing(self, system: str | None, code: str | None) -> frozenset[str]:
        """The ids of every value set that `contains(system, code)`, each set asked only if it may."""
        if not code:
            return frozenset()
        code = code.strip()
        by_prefix = self.sets_of_prefix_start
        maybe = (
            self.sets_of_bare_code.get(code, set())
            | by_prefix.get(code.replace(".", "")[:1], set())
            | by_prefix.get("", set())  # a prefix of nothing would take every code
        )
        sets = self.knowledge.value_sets
        return frozenset(set_id for set_id in maybe if sets[set_id].contains(system, code))

    @classmethod
    def for_knowledge(cls, knowledge: Knowledge) -> KnowledgeLookups:
        """The lookups for this knowledge (built once; keyed by the loaded knowledge's identity)."""
        cached = cls._by_knowledge.get(id(knowledge))
        if cached is None or cached[0] is not knowledge:
            if len(cls._by_knowledge) >= 16:
                cls._by_knowledge.clear()  # tests load many knowledge variants; serving loads one
            made = cls(knowledge)
            cls._by_knowledge[id(knowledge)] = (knowledge, made)
            return made
        return cached[1]
