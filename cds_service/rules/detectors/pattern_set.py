"""Which of many text patterns could match a text, found in one pass by RE2's pattern set.

Python's regex engine reads a text once per pattern, trying it at every character, so reading a
condition or a medicine's name against the value sets' two hundred patterns one by one cost up to
twenty microseconds a text. RE2 (Google's linear-time engine, `google-re2`) reads a text once
against all of them together and says which match anywhere. The answer it gives is only a
shortlist: each pattern it names is then searched by Python's `re`, the engine the value sets are
written for, so the words found and where they are found stay exactly Python's.

The shortlist must never leave out a pattern Python would match (a missed red flag), so:

- RE2 reads each pattern without its look-arounds (`(?<!never )`, `(?!\\s+insipidus)`), which it
  does not support. A look-around only forbids or requires something next to a match, so without
  it a pattern matches wherever it did, and more; Python then applies it.
- Patterns RE2 cannot read, or could read differently from Python, are left off the set and always
  searched.
- RE2 is asked only about ASCII texts, where its `\\b`, `\\w`, `\\d` and case folding are Python's;
  the few ASCII characters Python's `\\s` takes and RE2's does not become spaces first. A text with
  any other character is searched with every pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import re2

# ASCII characters Python's `\s` matches in a str and RE2's `\s` ([\t\n\f\r ]) does not.
PYTHON_ONLY_SPACE = re.compile("[\x0b\x1c-\x1f]")
# Python syntax RE2 would read differently rather than reject: `{,n}` (RE2: literal text), `[[:`
# (RE2: a POSIX class; Python: the characters themselves) and `$` (Python: also before a final
# line break).
READ_DIFFERENTLY = re.compile(r"\{,|\[\[?:|\$")


class PatternSet:
    """A shortlist of the patterns (by position in the list given) that could match a text."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.size = len(patterns)
        self.every = tuple(range(self.size))
        options = re2.Options()
        options.log_errors = False
        options.never_capture = True
        self.set = re2.Set.SearchSet(options)
        self.number_of: list[int] = []  # the set's own numbering -> the pattern's number
        always: list[int] = []
        for number, pattern in enumerate(patterns):
            readable = re2_form(pattern)
            if readable is None or not self._add(readable):
                always.append(number)
            else:
                self.number_of.append(number)
        self.set.Compile()
        self.always = tuple(always)

    def _add(self, readable: str) -> bool:
        try:
            self.set.Add(readable)
        except re2.error:
            return False
        return True

    def candidates(self, text: str) -> Sequence[int]:
        """Every pattern that could match somewhere in the text (a superset of those that do), in order."""
        if not text.isascii():
            return self.every
        if not text.isprintable():  # a line break, a tab or a control character: make them RE2's
            text = PYTHON_ONLY_SPACE.sub(" ", text)
        found = self.set.Match(text.encode("ascii"))
        if found is None:
            return self.always
        shortlisted = map(self.number_of.__getitem__, found)
        return sorted([*shortlisted, *self.always] if self.always else shortlisted)


def re2_form(pattern: re.Pattern[str]) -> str | None:
    """The pattern as RE2 should read it (look-arounds dropped, flags inline), or None if it must not."""
    if pattern.flags & (re.MULTILINE | re.DOTALL | re.VERBOSE) or READ_DIFFERENTLY.search(pattern.pattern):
        return None
    relaxed = without_lookarounds(pattern.pattern)
    if relaxed is None:
        return None
    return f"(?i){relaxed}" if pattern.flags & re.IGNORECASE else relaxed


def without_lookarounds(pattern: str) -> str | None:
    """The pattern with every `(?=`, `(?!`, `(?<=`, `(?<!` group removed (None if it cannot be read).

    Escapes and character classes are stepped over, so a parenthesis inside them is not a group.
    """
    out: list[str] = []
    depth_to_skip: int | None = None  # the depth at which the look-around being dropped closes
    depth = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            piece, i = pattern[i : i + 2], i + 2
        elif char == "[":
            end = _class_end(pattern, i)
            if end is None:
                return None
            piece, i = pattern[i:end], end
        elif char == "(":
            if depth_to_skip is None and pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                depth_to_skip = depth
            depth += 1
            piece, i = char, i + 1
        elif char == ")":
            depth -= 1
            piece, i = char, i + 1
            if depth_to_skip is not None and depth == depth_to_skip:
                depth_to_skip = None
                continue  # the look-around's closing parenthesis goes with it
        else:
            piece, i = char, i + 1
        if depth_to_skip is None:
            out.append(piece)
    return "".join(out) if depth == 0 and depth_to_skip is None else None


def _class_end(pattern: str, start: int) -> int | None:
    """The index just past the character class that opens at `start` (None if it never closes)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1  # a leading ']' is a member, not the end
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern[i] == "]":
            return i + 1
        else:
            i += 1
    return None
