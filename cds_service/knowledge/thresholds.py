"""Thresholds: every number the rules compare against, each with its unit and source.

One file, `knowledge/thresholds.json`, maps a name to {"value", "unit", "source", "note"}; the
rules read values by name so that a clinical lead can change one without touching code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

THRESHOLDS_FILE = "thresholds.json"


@dataclass(frozen=True)
class Threshold:
    """One named threshold and where it comes from."""

    name: str
    value: Any  # int | float | str | list | dict, as the rule that reads it expects
    unit: str
    source: str
    note: str = ""


def parse_thresholds(raw: dict[str, Any]) -> dict[str, Threshold]:
    """Build Threshold objects from the file's JSON object (checked by the validator, not here)."""
    return {
        name: Threshold(
            name=name,
            value=entry.get("value"),
            unit=entry.get("unit", ""),
            source=entry.get("source", ""),
            note=entry.get("note", ""),
        )
        for name, entry in raw.items()
        if isinstance(entry, dict)
    }


def load_thresholds(directory: Traversable) -> dict[str, Threshold]:
    """Load `directory/thresholds.json`; an absent file gives no thresholds (the validator flags it)."""
    file = directory.joinpath(THRESHOLDS_FILE)
    if not file.is_file():
        return {}
    raw = json.loads(file.read_text("utf-8"))
    return parse_thresholds(raw) if isinstance(raw, dict) else {}
