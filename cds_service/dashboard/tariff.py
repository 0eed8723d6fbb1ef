"""Unit costs of imaging and bloods for the dashboard's estimate of cost avoided.

Read from knowledge/tariff.json (with its source), or from SPINE_CDS_TARIFF_FILE when an operator
replaces the figures with their own contract's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service.knowledge import knowledge_directory

UNITS = ("xray", "ct", "mri", "infection-bloods")


class TariffError(ValueError):
    """The tariff file is not valid; the message says why."""


@dataclass(frozen=True)
class Tariff:
    """Unit costs by item (a modality, or "infection-bloods"), and where they come from."""

    costs: dict[str, float]
    labels: dict[str, str]
    source: str
    note: str
    currency: str
    year: str
    path: str

    def cost(self, item: str) -> float:
        """The unit cost of an item ("xray", "ct", "mri", "infection-bloods")."""
        return self.costs[item]


def _parse(raw: Any, where: str) -> Tariff:
    if not isinstance(raw, dict) or not isinstance(raw.get("unit_costs"), dict):
        raise TariffError(f"{where}: expected an object with unit_costs")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise TariffError(f"{where}: say where the figures come from in 'source'")
    costs, labels = {}, {}
    for unit in UNITS:
        entry = raw["unit_costs"].get(unit)
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise TariffError(f"{where}: unit_costs.{unit}.value must be a number of at least 0")
        costs[unit] = float(value)
        labels[unit] = str(entry.get("label") or unit)
    return Tariff(
        costs=costs,
        labels=labels,
        source=raw["source"],
        note=str(raw.get("note") or ""),
        currency=str(raw.get("currency") or "GBP"),
        year=str(raw.get("year") or ""),
        path=where,
    )


def load_tariff(override: str | None) -> Tariff:
    """The tariff from `override` (SPINE_CDS_TARIFF_FILE) or the shipped knowledge file."""
    if override:
        try:
            raw = json.loads(Path(override).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TariffError(f"SPINE_CDS_TARIFF_FILE {override}: not readable JSON") from error
        return _parse(raw, override)
    shipped = knowledge_directory() / "tariff.json"
    return _parse(json.loads(shipped.read_text(encoding="utf-8")), "knowledge/tariff.json")
