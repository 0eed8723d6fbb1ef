"""Lookups over the loaded knowledge that every hook call repeats, worked out once per process.

A small hook call reads the order's words against some forty value sets and looks up the record
under thirty-odd sets of codes: done naively, that matching was a quarter of the call's CPU.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cds_service.knowledge import Knowledge
from cds_service.knowledge.valueset import ValueSet


def any_of(value_set: ValueSet) -> re.Pattern[str] | None:
    """One pattern that matches wherever any of the set's text patterns matches (None: no patterns).

    Used only to say "none of them matches" in one search; which pattern matched, and its words,
    still come from `ValueSet.match_text`, whose first pattern wins.
    """
    return _alternation(value_set.text_patterns)


def _alternation(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    flags = {p.flags for p in patterns}
    if len(flags) != 1:
        return None  # mixed flags cannot share one pattern: each is searched on its own
    joined = "|".join(f"(?:{p.pattern})" for p in patterns)
    try:
        return re.compile(joined, flags.pop())
    except re.error:
        return None


class TextWords:
    """Which value sets' text patterns a text matches, and the words each matched.

    Records and orders repeat the same few texts, so each distinct text is matched once per process
    (up to MEMO_LIMIT texts); a text no pattern matches is turned away by a single search.
    """

    MEMO_LIMIT = 20_000

    def __init__(self, knowledge: Knowledge) -> None:
        # The imaging sets classify orders; they are not findings.
        self.patterned = [
            (value_set_id, value_set, any_of(value_set))
            for value_set_id, value_set in knowledge.value_sets.items()
            if value_set.text_patterns and "imaging" not in value_set_id
        ]
        every = tuple(p for _, value_set, _ in self.patterned for p in value_set.text_patterns)
        self.anything = _alternation(every)
        self.memo: dict[str, Mapping[str, str]] = {}

    def matches(self, text: str) -> Mapping[str, str]:
        """{value set id: matched words} for every value set whose text patterns match this text."""
        found = self.memo.get(text)
        if found is None:
            found = self._match(text)
            if len(self.memo) >= self.MEMO_LIMIT:
                self.memo.clear()
            self.memo[text] = found
        return found

    def _match(self, text: str) -> Mapping[str, str]:
        if not text or (self.anything is not None and self.anything.search(text) is None):
            return {}
        found: dict[str, str] = {}
        for value_set_id, value_set, pattern in self.patterned:
            if pattern is not None and pattern.search(text) is None:
                continue
            words = value_set.match_text(text)
            if words is not None:
                found[value_set_id] = words
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
