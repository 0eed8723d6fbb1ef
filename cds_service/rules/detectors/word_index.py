"""Which of many text patterns could match a text, found from the text's words in a few look-ups.

Python's regex engine tries every alternative at every position, so reading a note against the
value sets' two hundred patterns costs about two microseconds per character. Almost every pattern
starts a word with fixed letters (`\\bsaddle\\s+...`, `\\b(cancer|carcinoma)`), so a pattern can
only match where a word of the text starts with those letters: the patterns are indexed at load by
their first letters (up to five), and a text's words are looked up there. Only the patterns found
(and those the index cannot vouch for) are then searched, so the answer is exactly the patterns'.

The index is sound only where it can be proved from the parsed pattern: a pattern that may start
mid-word or with something other than fixed letters is always searched, and so is every pattern
when the text is not ASCII (Unicode case folding lets the long s, U+017F, match "s").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# The standard library's own regex parser (private, and typeshed does not describe it) says how a
# pattern begins. A Python that moves it only loses the index: every pattern is then searched, which
# is slower and gives the same answers.
sre: Any
sre_parse: Any
try:
    from re import _constants as sre  # type: ignore[attr-defined,no-redef]
    from re import _parser as sre_parse  # type: ignore[attr-defined,no-redef]
except ImportError:  # pragma: no cover - every supported Python has them
    sre = sre_parse = None

# How many leading letters index a pattern: five tell "spinal" from "spine", "cauda" from "cancer".
PREFIX = 5
WORD = re.compile(r"\w+")
WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
ZERO_WIDTH = (sre.ASSERT, sre.ASSERT_NOT) if sre else ()
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)) if sre else ()


class WordIndex:
    """The patterns (by position in the list given) that could match a text."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.size = len(patterns)
        self.by_start: dict[str, list[int]] = {}
        always: list[int] = []
        for number, pattern in enumerate(patterns):
            starts = word_starts(pattern)
            if starts is None:
                always.append(number)
                continue
            for start in starts:
                self.by_start.setdefault(start, []).append(number)
        self.always = tuple(always)
        self.every = frozenset(range(self.size))
        # The starts form a tree of letters; one regex walks it at every word start (in C, not a
        # Python loop over words and their first letters) and stops at the word's longest leading
        # part in the tree. `reached` holds, for each such part, the patterns of all its own leading
        # parts: exactly what looking up each of the word's first 1 to PREFIX letters would find.
        self.reached: dict[str, frozenset[int]] = {}
        for start in self.by_start:
            for length in range(1, len(start) + 1):
                head = start[:length]
                self.reached[head] = frozenset(
                    number for part in range(1, length + 1) for number in self.by_start.get(head[:part], ())
                )
        self.walk = re.compile(r"\b(?:" + _tree_pattern(set(self.by_start)) + ")") if self.by_start else None

    def candidates(self, text: str) -> set[int]:
        """Every pattern that could match somewhere in the text (a superset of those that do)."""
        if not text.isascii():
            return set(self.every)
        found = set(self.always)
        if self.walk is not None:
            reached = self.reached
            for head in set(self.walk.findall(text.lower())):
                found.update(reached[head])
        return found


def _tree_pattern(starts: set[str]) -> str:
    """A regex matching the longest leading part of a text that leads some of `starts` (non-empty)."""
    by_letter: dict[str, set[str]] = {}
    for start in starts:
        by_letter.setdefault(start[0], set()).add(start[1:])
    branches = []
    for letter in sorted(by_letter):
        rest = {tail for tail in by_letter[letter] if tail}
        branches.append(re.escape(letter) + (f"(?:{_tree_pattern(rest)})?" if rest else ""))
    return "|".join(branches)


def word_starts(pattern: re.Pattern[str]) -> set[str] | None:
    """The lower-case letters (1 to PREFIX) every match begins a word with, or None if unknown."""
    if sre_parse is None:
        return None
    try:
        items = list(sre_parse.parse(pattern.pattern, pattern.flags).data)
    except (re.error, TypeError, ValueError):
        return None
    if not _begins_at_boundary(items):
        return None
    # A match that starts at a word boundary with a word character starts a word of the text; only
    # the letters up to the first non-word character are that word's.
    starts = {_word_part(head) for head in _heads(items, PREFIX)}
    return None if "" in starts else starts


def _word_part(head: str) -> str:
    """The head up to its first character that cannot be in a word."""
    for place, char in enumerate(head):
        if char not in WORD_CHARS:
            return head[:place]
    return head


def _begins_at_boundary(items: list[Any]) -> bool:
    """True when the pattern asserts a word boundary before it reads any character."""
    for op, av in items:
        if op in ZERO_WIDTH:
            continue
        if op is sre.AT:
            if av is sre.AT_BOUNDARY:
                return True
            continue
        if op is sre.SUBPATTERN:
            return _begins_at_boundary(list(av[-1].data))
        return False
    return False


def _heads(items: list[Any], room: int) -> set[str]:
    """Strings (lower case, at most `room` long) one of which every match of `items` begins with.

    A string shorter than `room` says only that much is known ("" is nothing known).
    """
    if not items or room == 0:
        return {""}
    op, av = items[0]
    rest = items[1:]
    if op in ZERO_WIDTH or op is sre.AT:
        return _heads(rest, room)
    if op is sre.LITERAL or op is sre.IN:
        heads = _letters([(op, av)] if op is sre.LITERAL else av)
        if "" in heads or not heads:
            return {""}
        return {head + tail for head in heads for tail in _heads(rest, room - 1)}
    if op is sre.SUBPATTERN:
        return _heads(list(av[-1].data) + rest, room)
    if op is sre.BRANCH:
        return set().union(*(_heads(list(branch.data) + rest, room) for branch in av[1]))
    if op in REPEATS:
        low, _, body = av
        # What follows one repetition is unknown (another one, or the rest): only its own letters count.
        once = _heads(list(body.data), room)
        return once | _heads(rest, room) if low == 0 else once
    return {""}


def _letters(charset: list[Any]) -> set[str]:
    """The lower-case ASCII characters a set of literals matches ({""} when it may be anything else)."""
    found: set[str] = set()
    for op, av in charset:
        char = chr(av) if op is sre.LITERAL else ""
        if not char.isascii() or not char:
            return {""}
        found.add(char.lower())
    return found
