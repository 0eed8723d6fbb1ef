"""The guideline the service implements: identity, checked date and review date."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from importlib import resources


@dataclass(frozen=True)
class Guideline:
    """Identity of the source guideline, shown in discovery and on every card."""

    id: str
    title: str
    publisher: str
    label: str
    url: str
    checked: date
    next_review: date

    @property
    def version(self) -> str:
        """A human version string: when it was checked and when it is due for review."""
        return f"checked {self.checked.isoformat()}, next review {self.next_review.isoformat()}"

    def review_overdue(self, today: date) -> bool:
        """True when the guideline's review date has passed."""
        return today > self.next_review


def load_guideline() -> Guideline:
    """Read guideline.json from the installed package."""
    raw = json.loads(resources.files(__package__).joinpath("guideline.json").read_text("utf-8"))
    return Guideline(
        id=raw["id"],
        title=raw["title"],
        publisher=raw["publisher"],
        label=raw["label"],
        url=raw["url"],
        checked=date.fromisoformat(raw["checked"]),
        next_review=date.fromisoformat(raw["next_review"]),
    )
