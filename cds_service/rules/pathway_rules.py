"""The pathway rules as data (knowledge/pathway-rules.json): ordered rules, ratings and questions.

Rules are tried in order and the first whose condition holds chooses the pathway, so the clinical
order of design.md (emergency, cancer, infection, fracture, specialist, count) is the file's order
and a clinical lead can read and change it without touching code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cds_service.rules.model import Modality, Pathway, Rating, RedFlagId, SuspectedCondition

RULES_FILE = "pathway-rules.json"


# One part of a rule condition: does it hold for these flags and features?
Test = Callable[[Set[str], Set[str]], bool]


@dataclass(frozen=True)
class Condition:
    """A rule condition made once at load into the tests its file entry names (all must hold).

    Eighteen rules are tried on every decision; each tests only the parts it names, with sets built
    once rather than from the file's lists on every call.
    """

    tests: tuple[Test, ...]

    def holds(self, flags: Set[str], features: Set[str]) -> bool:
        """Whether every part of this condition holds for these flags and features."""
        # A loop rather than all(<generator>): making the generator costs more than the one or two
        # tests most rules have, and rules are tried on every decision.
        for test in self.tests:  # noqa: SIM110
            if not test(flags, features):
                return False
        return True


def any_holds(options: tuple[Condition, ...], flags: Set[str], features: Set[str]) -> bool:
    """Whether at least one of the options holds (a loop, for the reason `Condition.holds` gives)."""
    for option in options:  # noqa: SIM110
        if option.holds(flags, features):
            return True
    return False


# How a condition's set from the file must relate to the flags (or features) present.
Relation = Callable[[frozenset[str], Set[str]], bool]

# Set tests a condition may name: which side they read (0: flags, 1: features) and the relation.
_SET_TESTS: dict[str, tuple[int, Relation]] = {
    "flags_any": (0, lambda wanted, present: not wanted.isdisjoint(present)),
    "flags_all": (0, lambda wanted, present: wanted <= present),
    "flags_none": (0, lambda wanted, present: wanted.isdisjoint(present)),
    "features_any": (1, lambda wanted, present: not wanted.isdisjoint(present)),
    "features_all": (1, lambda wanted, present: wanted <= present),
}


def _set_test(side: int, relation: Relation, wanted: frozenset[str]) -> Test:
    if side == 0:
        return lambda flags, _: relation(wanted, flags)
    return lambda _, features: relation(wanted, features)


def parse_condition(
    when: Mapping[str, Any], named: Mapping[str, Mapping[str, Any]], uncounted: frozenset[str] = frozenset()
) -> Condition:
    """A condition from its JSON; "ref" names one of `named`; 'flag:*' counts flags not `uncounted`."""
    tests: list[Test] = [
        _set_test(side, relation, frozenset(when[key]))
        for key, (side, relation) in _SET_TESTS.items()
        if key in when
    ]
    if "min_count" in when:
        count, terms = int(when["min_count"]["count"]), tuple(when["min_count"]["of"])
        tests.append(lambda flags, features: count_of(terms, flags, features, uncounted) >= count)
    if "any" in when:
        options = tuple(parse_condition(c, named, uncounted) for c in when["any"])
        tests.append(lambda flags, features: any_holds(options, flags, features))
    tests += [parse_condition(c, named, uncounted).holds for c in when.get("all", ())]
    if "ref" in when:
        tests.append(parse_condition(named[when["ref"]], named, uncounted).holds)
    return Condition(tuple(tests))


@dataclass(frozen=True)
class PathwayRule:
    """One rule: when its condition holds, this pathway, for this reason."""

    id: str
    pathway: Pathway
    when: Mapping[str, Any]  # the condition as the file states it
    rationale: str
    condition: Condition  # the same, made sets once at load: rules are tried on every decision
    follows: SuspectedCondition | None = None  # the suspected condition whose pathway this is


@dataclass(frozen=True)
class Question:
    """A red flag the record may not show, and what to ask the GP about it."""

    flag: RedFlagId
    question: str


@dataclass(frozen=True)
class PathwayRules:
    """The loaded rules file."""

    rules: tuple[PathwayRule, ...]
    ratings: Mapping[Pathway, Mapping[Modality, Rating]]
    wrong_test: Mapping[Pathway, Mapping[str, str]]  # why the ordered modality is the wrong test
    emergency: frozenset[RedFlagId]
    serious: frozenset[RedFlagId]
    weak: frozenset[RedFlagId]
    context: frozenset[RedFlagId]  # weigh only inside combinations; not counted as 'several flags'
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


def count_of(
    terms: Sequence[str], flags: Set[str], features: Set[str], uncounted: frozenset[str] = frozenset()
) -> int:
    """How many of 'flag:<id>' / 'feature:<name>' terms are present ('flag:*': every flag not uncounted).

    A term may name alternatives, 'flag:a|feature:b', which count once when any is present.
    """
    total = 0
    for term in terms:
        if "|" in term:
            total += int(any(count_of((part,), flags, features) for part in term.split("|")))
            continue
        kind, _, name = term.partition(":")
        if kind == "flag":
            if name == "*":
                total += len(flags) - len(uncounted.intersection(flags)) if uncounted else len(flags)
            else:
                total += int(name in flags)
        elif kind == "feature":
            total += int(name in features)
    return total


def parse_rules(raw: Mapping[str, Any]) -> PathwayRules:
    """Build PathwayRules from the file's JSON."""
    weights = raw["flag_weights"]
    context = frozenset(weights.get("context", {}).get("value", ()))
    return PathwayRules(
        rules=tuple(
            PathwayRule(
                r["id"],
                Pathway(r["pathway"]),
                r.get("when") or {},
                r["rationale"],
                parse_condition(r.get("when") or {}, {}, context),
                SuspectedCondition(r["follows"]) if r.get("follows") else None,
            )
            for r in raw["rules"]
        ),
        ratings={
            Pathway(pathway): {m: Rating(entry[m.value]) for m in Modality}
            for pathway, entry in raw["ratings"].items()
        },
        wrong_test={Pathway(p): entry.get("wrong_test", {}) for p, entry in raw["ratings"].items()},
        emergency=frozenset(RedFlagId(f) for f in weights["emergency"]["value"]),
        serious=frozenset(RedFlagId(f) for f in weights["serious"]["value"]),
        weak=frozenset(RedFlagId(f) for f in weights["weak"]["value"]),
        context=frozenset(RedFlagId(f) for f in context),
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
