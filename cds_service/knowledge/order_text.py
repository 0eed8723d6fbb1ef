"""Words that name a spinal region or contrast in an order's free text (local codes, displays).

Coded orders carry their region and contrast as value-set concept extensions; these patterns are
the fallback when only text says it ("MRI L-SPINE W/O"). They live in `knowledge/order-text.json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

ORDER_TEXT_FILE = "order-text.json"
WHOLE_SPINE = "whole-spine"


@dataclass(frozen=True)
class OrderText:
    """Compiled region and contrast patterns, in the order they are tried."""

    regions: tuple[tuple[str, re.Pattern[str]], ...] = ()
    contrast: tuple[tuple[bool, re.Pattern[str]], ...] = ()

    def regions_in(self, text: str) -> tuple[str, ...]:
        """Every region whose pattern matches the text, in file order; whole-spine alone when it matches."""
        found = tuple(region for region, pattern in self.regions if pattern.search(text))
        return (WHOLE_SPINE,) if WHOLE_SPINE in found else found

    def contrast_in(self, text: str) -> bool | None:
        """True/False when the text says with/without contrast (first matching rule wins), else None."""
        for with_contrast, pattern in self.contrast:
            if pattern.search(text):
                return with_contrast
        return None


def parse_order_text(raw: dict[str, Any]) -> OrderText:
    """Compile the patterns of order-text.json (checked by the validator, not here)."""
    return OrderText(
        regions=tuple(
            (entry["region"], re.compile(entry["pattern"], re.IGNORECASE)) for entry in raw.get("regions", ())
        ),
        contrast=tuple(
            (bool(entry["contrast"]), re.compile(entry["pattern"], re.IGNORECASE))
            for entry in raw.get("contrast", ())
        ),
    )


def load_order_text(directory: Traversable) -> OrderText:
    """Load `directory/order-text.json`; an absent file gives no text fallback."""
    file = directory.joinpath(ORDER_TEXT_FILE)
    if not file.is_file():
        return OrderText()
    return parse_order_text(json.loads(file.read_text("utf-8")))
