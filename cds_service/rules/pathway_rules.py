"""The pathway rules as data (knowledge/pathway-rules.json): ordered rules, ratings and questions.

Rules are tried in order and the first whose condition holds chooses the pathway, so the clinical
order of design.md (emergency, cancer, infection, fracture, specialist, count) is the file's order
and a clinical lead can read and change it without touching code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId

RULES_FILE = "pathway-rules.json"


@dataclass(frozen=True)
class PathwayRule:
    """One rule: when its condition holds, this pathway, for this reason."""

    id: str
    pathway: Pathway
    when: Mapping[str, Any]
    rationale: str


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

    def holds(self, when: Mapping[str, Any], flags: Set[str], features: Set[str]) -> bool:
        """Whether a rule condition holds for these flags and features (all its keys must hold)."""
        if "flags_any" in when and not flags & set(when["flags_any"]):
            return False
        if "flags_all" in when and not set(when["flags_all"]) <= flags:
            return False
        if "flags_none" in when and flags & set(when["flags_none"]):
            return False
        if "features_any" in when and not features & set(when["features_any"]):
            return False
        if "features_all" in when and not set(when["features_all"]) <= features:
            return False
        if "min_count" in when and count_of(when["min_count"]["of"], flags, features) < int(
            when["min_count"]["count"]
        ):
            return False
        if "any" in when and not any(self.holds(c, flags, features) for c in when["any"]):
            return False
        if "all" in when and not all(self.holds(c, flags, features) for c in when["all"]):
            return False
        return "ref" not in when or self.holds(self.conditions[when["ref"]], flags, features)

    def choose(self, flags: Set[str], features: Set[str]) -> PathwayRule:
        """The first rule that holds (the file ends with an unconditional rule)."""
        for rule in self.rules:
            if self.holds(rule.when, flags, features):
                return rule
        raise ValueError(f"{RULES_FILE}: no rule matched and there is no final unconditional rule")

    def rating(self, pathway: Pathway, modality: Modality) -> Rating:
        """The PAMA rating of this modality on this pathway."""
        return self.ratings[pathway][modality]


def count_of(terms: list[str], flags: Set[str], features: Set[str]) -> int:
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
    return PathwayRules(
        rules=tuple(
            PathwayRule(r["id"], Pathway(r["pathway"]), r.get("when") or {}, r["rationale"])
            for r in raw["rules"]
        ),
        conditions=raw.get("conditions", {}),
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
