"""Clinical knowledge as data: the guideline's identity, value sets and thresholds, with sources."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from cds_service.knowledge.guideline import Guideline, load_guideline
from cds_service.knowledge.order_text import OrderText, load_order_text
from cds_service.knowledge.thresholds import Threshold, load_thresholds
from cds_service.knowledge.valueset import Concept, ValueSet, load_value_sets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Knowledge:
    """Everything clinical the rules and cards read; loaded once per process."""

    guideline: Guideline
    value_sets: Mapping[str, ValueSet] = field(default_factory=dict)
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    order_text: OrderText = field(default_factory=OrderText)

    def value_set(self, value_set_id: str) -> ValueSet:
        """The value set with this id; KeyError naming the known ids when there is none."""
        try:
            return self.value_sets[value_set_id]
        except KeyError:
            known = ", ".join(sorted(self.value_sets)) or "none loaded"
            raise KeyError(
                f"no value set {value_set_id!r} in knowledge/valuesets/ (known: {known})"
            ) from None

    def threshold(self, name: str) -> Any:
        """The value of a named threshold; KeyError naming the file when it is not defined."""
        try:
            return self.thresholds[name].value
        except KeyError:
            raise KeyError(f"no threshold {name!r} in knowledge/thresholds.json") from None


def knowledge_directory() -> Traversable:
    """The knowledge files shipped in the installed package."""
    return resources.files(__package__)


def warn_if_review_overdue(guideline: Guideline, today: date) -> bool:
    """Log a WARNING when the guideline's review date has passed; True when it has."""
    if not guideline.review_overdue(today):
        return False
    log.warning(
        "Guideline %r was due for review on %s and has not been re-checked since %s: the advice may be "
        "out of date. The clinical lead must re-check the guideline and update "
        "cds_service/knowledge/guideline.json.",
        guideline.label,
        guideline.next_review.isoformat(),
        guideline.checked.isoformat(),
    )
    return True


def read_knowledge(directory: Traversable) -> Knowledge:
    """Load every knowledge file under `directory` (no caching, no start-up warning)."""
    return Knowledge(
        guideline=load_guideline(),
        value_sets=load_value_sets(directory),
        thresholds=load_thresholds(directory),
        order_text=load_order_text(directory),
    )


@cache
def load_knowledge() -> Knowledge:
    """Load the shipped knowledge once per process, warning if the guideline is overdue for review."""
    knowledge = read_knowledge(knowledge_directory())
    warn_if_review_overdue(knowledge.guideline, date.today())
    return knowledge


__all__ = [
    "Concept",
    "Guideline",
    "Knowledge",
    "OrderText",
    "Threshold",
    "ValueSet",
    "load_knowledge",
    "read_knowledge",
    "warn_if_review_overdue",
]
