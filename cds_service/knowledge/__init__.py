"""Clinical knowledge as data: the guideline's identity, value sets and thresholds, with sources."""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.knowledge.guideline import Guideline, load_guideline


@dataclass(frozen=True)
class Knowledge:
    """Everything clinical the rules and cards read; loaded once per process."""

    guideline: Guideline


def load_knowledge() -> Knowledge:
    """Load and check every knowledge file shipped in the package."""
    return Knowledge(guideline=load_guideline())


__all__ = ["Guideline", "Knowledge", "load_knowledge"]
