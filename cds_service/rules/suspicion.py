"""Suspicion per suspected condition (knowledge/suspicion-rules.json): which conditions the flags point at.

Each condition's rules are tried strongest level first; the first that holds sets the level and
names the flags behind it. The pathway rules read the result as features
(`suspected-<condition>-<level>`, present for the level reached and every level below it), so that
the pathway follows the strongest suspicion while both files stay data a clinical lead can read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cds_service.rules.model import RedFlagId, SuspectedCondition, Suspicion, SuspicionLevel
from cds_service.rules.pathway_rules import Condition, parse_condition

SUSPICION_FILE = "suspicion-rules.json"
FLAG_ORDER = {flag: place for place, flag in enumerate(RedFlagId)}


def suspicion_feature(condition: SuspectedCondition | str, level: SuspicionLevel | str) -> str:
    """The feature a pathway rule names for 'this condition suspected at this level or higher'."""
    return f"suspected-{condition}-{level}"


@dataclass(frozen=True)
class SuspicionRule:
    """One rule: when its condition holds, this condition is suspected at this level."""

    id: str
    condition: SuspectedCondition
    level: SuspicionLevel
    when: Mapping[str, Any]
    test: Condition
    flags_named: frozenset[str]  # the flags (directly or through a feature) the rule reads
    features_named: frozenset[str]
    # The features the level brings: this level and every lower one (made once at load).
    features: frozenset[str]


@dataclass(frozen=True)
class Assessment:
    """The suspicions for one set of flags and features, and the features they add."""

    suspicions: tuple[Suspicion, ...]
    features: frozenset[str]

    def level_of(self, condition: SuspectedCondition) -> SuspicionLevel | None:
        """How strongly this condition is suspected, or None when it is not."""
        for suspicion in self.suspicions:
            if suspicion.condition == condition:
                return suspicion.level
        return None

    def led_by(self, condition: SuspectedCondition | None) -> tuple[Suspicion, ...]:
        """The suspicions with this condition (the one the pathway follows) first."""
        if condition is None:
            return self.suspicions
        first = [s for s in self.suspicions if s.condition == condition]
        return (*first, *(s for s in self.suspicions if s.condition != condition))


@dataclass(frozen=True)
class SuspicionRules:
    """The loaded suspicion rules, per condition in the file's order (the most urgent first)."""

    by_condition: tuple[tuple[SuspectedCondition, tuple[SuspicionRule, ...]], ...]
    feature_flags: Mapping[str, str]

    def assess(self, flags: Set[str], features: Set[str]) -> Assessment:
        """Each condition's level (its strongest rule that holds) and the flags behind it."""
        found: list[Suspicion] = []
        added: set[str] = set()
        for _, rules in self.by_condition:
            for rule in rules:
                if rule.test.holds(flags, features):
                    found.append(self._suspicion(rule, flags, features))
                    added |= rule.features
                    break
        # Strongest first; equal levels keep the file's (urgency) order: sorted() is stable.
        found.sort(key=lambda s: -s.level.rank)
        return Assessment(tuple(found), frozenset(added))

    def _suspicion(self, rule: SuspicionRule, flags: Set[str], features: Set[str]) -> Suspicion:
        behind = {f for f in rule.flags_named if f in flags}
        behind.update(
            self.feature_flags[f]
            for f in rule.features_named
            if f in features and self.feature_flags.get(f) in flags
        )
        ordered = sorted((RedFlagId(f) for f in behind), key=FLAG_ORDER.__getitem__)
        return Suspicion(rule.condition, rule.level, tuple(ordered), rule.id)


def names_in(when: Mapping[str, Any], named: Mapping[str, Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """The flags and features a condition reads (through `ref`s too)."""
    flags: set[str] = set()
    features: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "flags_none":
                    continue  # a flag that must be absent is never behind a suspicion
                if key.startswith("flags_"):
                    flags.update(value)
                elif key.startswith("features_"):
                    features.update(value)
                elif key == "min_count":
                    for term in (part for alternatives in value["of"] for part in alternatives.split("|")):
                        kind, _, name = term.partition(":")
                        (flags if kind == "flag" else features).add(name)
                elif key == "ref":
                    walk(named[value])
                elif key in ("any", "all"):
                    for item in value:
                        walk(item)

    walk(when)
    return flags, features


def _level_features(condition: SuspectedCondition, level: SuspicionLevel) -> frozenset[str]:
    return frozenset(
        suspicion_feature(condition, lower) for lower in SuspicionLevel if lower.rank <= level.rank
    )


def parse_suspicion_rules(raw: Mapping[str, Any]) -> SuspicionRules:
    """Build SuspicionRules from the file's JSON (each condition's rules sorted strongest first)."""
    named = raw.get("named_conditions", {})
    feature_flags = dict(raw["feature_flags"]["value"])
    by_condition = []
    for condition_code, entries in raw["conditions"].items():
        condition = SuspectedCondition(condition_code)
        rules = []
        for entry in entries:
            level = SuspicionLevel(entry["level"])
            flags, features = names_in(entry["when"], named)
            rules.append(
                SuspicionRule(
                    id=entry["id"],
                    condition=condition,
                    level=level,
                    when=entry["when"],
                    test=parse_condition(entry["when"], named),
                    flags_named=frozenset(flags),
                    features_named=frozenset(features),
                    features=_level_features(condition, level),
                )
            )
        rules.sort(key=lambda r: -r.level.rank)  # stable: the file's order within a level
        by_condition.append((condition, tuple(rules)))
    return SuspicionRules(
        by_condition=tuple(by_condition),
        feature_flags=feature_flags,
    )


@cache
def load_suspicion_rules() -> SuspicionRules:
    """The suspicion rules shipped in the package, read once per process."""
    text = resources.files("cds_service.knowledge").joinpath(SUSPICION_FILE).read_text("utf-8")
    return parse_suspicion_rules(json.loads(text))


def assess(flags: Iterable[RedFlagId | str], features: Iterable[str] = ()) -> Assessment:
    """The suspicions for these flags and features (tests and tools; `decide` passes sets)."""
    return load_suspicion_rules().assess({str(f) for f in flags}, set(features))
