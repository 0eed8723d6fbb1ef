"""Record text filled into a card's wording after rendering, so that one rendering serves many cards.

A pathway template is rendered with a numbered marker in place of each piece of record or request
text (a display, a date, the order's reference). What is rendered then depends only on facts that
come from the knowledge (pathway, modality, regions, red flag ids, questions) and on which texts are
present, so it is kept per process (`cds_service.cards.render`); each hook call only fills its own
text into the markers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import TemplateError
from markupsafe import escape

# Unicode private-use characters: autoescape, markdown_text and str.split() leave them alone, and
# no template or knowledge text contains them.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class RecordTexts:
    """One card's record text, in the order its markers were handed out."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[str] = []

    def marker(self, text: str) -> str:
        """A marker standing for `text`, or "" when there is no text.

        `text` is one line without surrounding whitespace (markdown_text makes it so; dates are
        ISO dates), so filling it in cannot add or remove blank lines: the rendering is tidied
        once, before any filling. An empty text stays empty, so that a template's
        `{% if ev.date %}` takes the branch it would take with the text itself.
        """
        if not text:
            return ""
        # HTML-escaped now, as Jinja2's autoescape would have escaped the text in the template.
        self.values.append(str(escape(text)))
        return f"{_OPEN}{len(self.values) - 1}{_CLOSE}"


@dataclass(frozen=True, slots=True)
class MarkedText:
    """Rendered text with markers, to be filled with one card's record text."""

    pattern: str | None  # a str.format pattern (the text's braces doubled, marker n as {n}); None: no marker
    plain: str  # the text itself when it has no marker

    @classmethod
    def of(cls, rendered: str) -> MarkedText:
        """Compile rendered text; a marker that a template cut or altered is an error."""
        if _MARKER.search(rendered) is None:
            pattern = None
        else:
            pattern = _MARKER.sub(r"{\1}", rendered.replace("{", "{{").replace("}", "}}"))
        if _OPEN in (pattern or rendered) or _CLOSE in (pattern or rendered):
            raise TemplateError("a template altered record text (a filter or a slice): show it as it is")
        return cls(pattern=pattern, plain=rendered)

    def fill(self, values: Sequence[str]) -> str:
        """The text with each marker replaced by its record text."""
        if self.pattern is None:
            return self.plain
        return self.pattern.format(*values)
