"""The pathway rules as data (knowledge/pathway-rules.json): ordered rules, ratings and questions.

Rules are tried in order and the first whose condition holds chooses the pathway, so the clinical
order of design.md (emergency, cancer, infection, fracture, specialist, count) is the file's order
and a clinical lead can read and change it without touching code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId

RULES_FILE = "pathway-rules.json"


@dataclass(frozen=True)
class Condition:
    """A rule condition as the file states it, its lists made sets once at load.

    Every part given must hold; a part the file does not give is None (or empty, for the "all" kinds).
    """

    flags_any: frozenset[str] | None = None
    flags_all: frozenset[str] = frozenset()
    flags_none: frozenset[str] = frozenset()
    features_any: frozenset[str] | None = None
    features_all: frozenset[str] = frozenset()
    min_count: tuple[int, tuple[str, ...]] | None = None  # (count, 'flag:<id>' / 'feature:<name>' terms)
    any: tuple[Condition, ...] | None = None
    all: tuple[Condition, ...] = ()  # the "all" list, then the condition "ref" names

    def holds(self, flags: Set[str], features: Set[str]) -> bool:
        """Whether this condition holds for these flags and features."""
        if self.flags_any is not None and self.flags_any.isdisjoint(flags):
            return False
        if not self.flags_all <= flags or not self.flags_none.isdisjoint(flags):
            return False
        if self.features_any is not None and self.features_any.isdisjoint(features):
            return False
        if not self.features_all <= features:
            return False
        if self.min_count is not None and count_of(self.min_count[1], flags, features) < self.min_count[0]:
            return False
        if self.any is not None and not any(c.holds(flags, features) for c in self.any):
            return False
        return all(c.holds(flags, features) for c in self.all)


def parse_condition(when: Mapping[str, Any], named: Mapping[str, Mapping[str, Any]]) -> Condition:
    """A condition from its JSON; "ref" names one of the file's `conditions`."""

    def as_set(key: str) -> frozenset[str] | None:
        return frozenset(when[key]) if key in when else None

    parts = [parse_condition(c, named) for c in when.get("all", ())]
    if "ref" in when:
        parts.append(parse_condition(named[when["ref"]], named))
    count = when.get("min_count")
    return Condition(
        flags_any=as_set("flags_any"),
        flags_all=as_set("flags_all") or frozenset(),
        flags_none=as_set("flags_none") or frozenset(),
        features_any=as_set("features_any"),
        features_all=as_set("features_all") or frozenset(),
        min_count=(int(count["count"]), tuple(count["of"])) if count is not None else None,
        any=tuple(parse_condition(c, named) for c in when["any"]) if "any" in when else None,
        all=tuple(parts),
    )


@dataclass(frozen=True)
class PathwayRule:
    """One rule: when its condition holds, this pathway, for this reason."""

    id: str
    pathway: Pathway
    when: Mapping[str, Any]  # the condition as the file states it
    rationale: str
    condition: Condition  # the same, made sets once at load: rules are tried on every decision


@dataclass(frozen=True)
class Question:
    """A red flag the record may not show, and what to ask the GP about it."""

    flag: RedFlagId
    question: str


@dataclass(frozen=True)
class PathwayRules:
    """The loaded rules file."""

    rules: tuple[PathwayRule, ...]
    conditions: Mapping[str, Mapping[str, Any]]
    ratings: Mapping[Pathway, Mapping[Modality, Rating]]
    wrong_test: Mapping[Pathway, Mapping[str, str]]  # why the ordered modality is the wrong test
    emergency: frozenset[RedFlagId]
    serious: frozenset[RedFlagId]
    weak: frozenset[RedFlagId]
    ask_about: tuple[Question, ...]
    ask_when_unmeasured: tuple[Question, ...]

    def choose(self, flags: Set[str], features: Set[str]) -> PathwayRule:
        """The first rule that holds (the file ends with an unconditional rule)."""
        for rule in self.rules:
            if rule.condition.holds(flags, features):
                return rule
        raise ValueError(f"{RULES_FILE}: no rule matched and there is no final unconditional rule")

    def rating(self, pathway: Pathway, modality: Modality) -> Rating:
        """The PAMA rating of this modality on this pathway."""
        return self.ratings[pathway][modality]


def count_of(terms: Sequence[str], flags: Set[str], features: Set[str]) -> int:
    """How many of 'flag:<id>' / 'feature:<name>' terms are present ('flag:*' counts every flag)."""
    total = 0
    for term in terms:
        kind, _, name = term.partition(":")
        if kind == "flag":
            total += len(flags) if name == "*" else int(name in flags)
        elif kind == "feature":
            total += int(name in features)
    return total


def parse_rules(raw: Mapping[str, Any]) -> PathwayRules:
    """Build PathwayRules from the file's JSON."""
    weights = raw["flag_weights"]
    named = raw.get("conditions", {})
    return PathwayRules(
        rules=tuple(
            PathwayRule(
                r["id"],
                Pathway(r["pathway"]),
                r.get("when") or {},
                r["rationale"],
                parse_condition(r.get("when") or {}, named),
            )
            for r in raw["rules"]
        ),
        conditions=named,
        ratings={
            Pathway(pathway): {m: Rating(entry[m.value]) for m in Modality}
            for pathway, entry in raw["ratings"].items()
        },
        wrong_test={Pathway(p): entry.get("wrong_test", {}) for p, entry in raw["ratings"].items()},
        emergency=frozenset(RedFlagId(f) for f in weights["emergency"]["value"]),
        serious=frozenset(RedFlagId(f) for f in weights["serious"]["value"]),
        weak=frozenset(RedFlagId(f) for f in weights["weak"]["value"]),
        ask_about=tuple(Question(RedFlagId(q["flag"]), q["question"]) for q in raw.get("ask_about", ())),
        ask_when_unmeasured=tuple(
            Question(RedFlagId(q["flag"]), q["question"]) for q in raw.get("ask_when_unmeasured", ())
        ),
    )


@cache
def load_pathway_rules() -> PathwayRules:
    """The rules shipped in the package, read once per process."""
    text = resources.files("cds_service.knowledge").joinpath(RULES_FILE).read_text("utf-8")
    return parse_rules(json.loads(text))
