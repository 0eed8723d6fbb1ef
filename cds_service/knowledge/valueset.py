"""Value sets: FHIR R4 ValueSet JSON files with provenance, indexed for cheap code look-ups.

Each file under `knowledge/valuesets/` is one ValueSet. The rules ask two questions of it, many
times per hook call: "is this (system, code) in the set?" and "does this concept's text look like
a member?". Both are answered from indexes built once at load time, never by scanning the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

from cds_service.fhir.record import codings, concept_text
from cds_service.rules.model import CodeRef

CODE_SYSTEMS_FILE = "code-systems.json"
EXTENSION_BASE = "https://spine-cds.example.org/fhir/StructureDefinition/"
SOURCE_URL = EXTENSION_BASE + "valueset-source"
TEXT_PATTERN_URL = EXTENSION_BASE + "valueset-text-pattern"
VERIFICATION_URL = EXTENSION_BASE + "code-verification"
NOTE_URL = EXTENSION_BASE + "code-note"
CODE_SOURCE_URL = EXTENSION_BASE + "code-source"
PREFIX_MATCH_URL = EXTENSION_BASE + "code-prefix-match"
REGION_URL = EXTENSION_BASE + "spine-region"
CONTRAST_URL = EXTENSION_BASE + "contrast"

# terminology.md marks: V, V-syn, and M or ? (the last two ship only with a note saying so);
# "verified-uk": the code and its meaning were seen together in a published UK primary-care code set
# (shared/reference/uk-codes/sets), named in the concept's code-source extension.
VERIFICATION_MARKS = frozenset({"verified", "verified-synthea", "verified-uk", "unverified"})
UK_VERIFIED = "verified-uk"


@dataclass(frozen=True)
class Concept:
    """One code of a value set, with how far it was checked and what it says about the order."""

    system: str
    code: str
    display: str
    verification: str | None
    note: str | None = None
    prefix_match: bool = False
    regions: tuple[str, ...] = ()  # spinal regions an imaging code covers (order value sets only)
    contrast: bool | None = None  # whether an imaging code includes contrast, when the code says


@dataclass(frozen=True)
class ValueSet:
    """A loaded value set: its identity, provenance, concepts and text-fallback patterns."""

    id: str
    title: str
    url: str
    source: str
    concepts: tuple[Concept, ...]
    text_patterns: tuple[re.Pattern[str], ...] = ()
    # Other names for a code system (an OID, an https variant) -> the canonical URI the set lists.
    system_aliases: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    _by_key: dict[tuple[str, str], Concept] = field(default_factory=dict, repr=False, compare=False)
    _by_bare: dict[str, Concept] = field(default_factory=dict, repr=False, compare=False)
    _prefixes: tuple[Concept, ...] = field(default=(), repr=False, compare=False)
    _prefix_systems: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _record_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        # Index once: the classifier and detectors call contains()/concept() on every hook call.
        for concept in self.concepts:
            if concept.prefix_match:
                object.__setattr__(self, "_prefixes", (*self._prefixes, concept))
            self._by_key.setdefault((concept.system, concept.code), concept)
            self._by_bare.setdefault(concept.code, concept)
        object.__setattr__(self, "_prefix_systems", frozenset(c.system for c in self._prefixes))
        aliases_of: dict[str, list[str]] = {}
        for alias, canonical in self.system_aliases.items():
            aliases_of.setdefault(canonical, []).append(alias)
        keys = [*self._by_key]
        keys += [(alias, code) for system, code in self._by_key for alias in aliases_of.get(system, ())]
        object.__setattr__(self, "_record_keys", tuple(keys))

    @property
    def codes(self) -> frozenset[tuple[str, str]]:
        """Every (system, code) listed in the set."""
        return frozenset(self._by_key)

    @property
    def bare_codes(self) -> frozenset[str]:
        """Every code listed in the set, whatever its system."""
        return frozenset(self._by_bare)

    def keys(self) -> Iterable[tuple[str, str]]:
        """The exact (system, code) pairs, also under each system alias, for `PatientRecord.with_any_code`."""
        return self._record_keys

    def concept(self, system: str | None, code: str | None) -> Concept | None:
        """The set's concept for this code (prefix concepts honoured); system None matches any system."""
        if not code:
            return None
        code = code.strip()
        if system is not None:
            system = self.system_aliases.get(system, system)
        found = self._by_bare.get(code) if system is None else self._by_key.get((system, code))
        if found is not None or (system is not None and system not in self._prefix_systems):
            return found  # a code of a system the set has no prefix codes in is listed or not
        for concept in self._prefixes:
            if (system is None or system == concept.system) and _dotless(code).startswith(
                _dotless(concept.code)
            ):
                return concept
        return None

    def contains(self, system: str | None, code: str | None) -> bool:
        """True when the code is in the set (system None: match on the code alone)."""
        return self.concept(system, code) is not None

    def match_text(self, text: str) -> str | None:
        """The part of `text` that one of the set's text patterns matched, or None."""
        if not text:
            return None
        for pattern in self.text_patterns:
            found = pattern.search(text)
            if found:
                return found.group(0).strip() or text
        return None

    def match_coding(self, concept: Any) -> CodeRef | None:
        """First coding of a CodeableConcept (or list) in the set, else None."""
        for system, code, display in codings(concept):
            if self.contains(system, code):
                return CodeRef(system, code, display)
        return None

    def match(self, concept: Any) -> CodeRef | None:
        """First coding of a CodeableConcept (or list) in the set, else a text-pattern match, else None."""
        coded = self.match_coding(concept)
        if coded is not None:
            return coded
        if self.text_patterns:
            matched = self.match_text(concept_text(concept))
            if matched is not None:
                return CodeRef(None, None, matched)
        return None


def _dotless(code: str) -> str:
    # ICD-10 categories arrive as "C79.5" or "C795" depending on the sender.
    return code.replace(".", "")


def extension_values(element: Mapping[str, Any], url: str) -> Iterator[Any]:
    """The `value[x]` of each extension of `element` with this url."""
    for ext in element.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    yield value


def first_extension_value(element: Mapping[str, Any], url: str) -> Any:
    """The value of the first extension with this url, or None."""
    return next(extension_values(element, url), None)


def parse_value_set(raw: Mapping[str, Any], system_aliases: Mapping[str, str] | None = None) -> ValueSet:
    """Build a ValueSet from its FHIR JSON (structure is checked by the validator, not here)."""
    concepts: list[Concept] = []
    for include in (raw.get("compose") or {}).get("include") or ():
        system = include.get("system", "")
        for item in include.get("concept") or ():
            contrast = first_extension_value(item, CONTRAST_URL)
            concepts.append(
                Concept(
                    system=system,
                    code=str(item["code"]).strip(),
                    display=item.get("display", ""),
                    verification=first_extension_value(item, VERIFICATION_URL),
                    note=first_extension_value(item, NOTE_URL),
                    prefix_match=first_extension_value(item, PREFIX_MATCH_URL) is True,
                    regions=tuple(extension_values(item, REGION_URL)),
                    contrast=contrast if isinstance(contrast, bool) else None,
                )
            )
    return ValueSet(
        id=raw["id"],
        title=raw.get("title", raw["id"]),
        url=raw.get("url", ""),
        source="; ".join(extension_values(raw, SOURCE_URL)),
        concepts=tuple(concepts),
        text_patterns=tuple(re.compile(p, re.IGNORECASE) for p in extension_values(raw, TEXT_PATTERN_URL)),
        system_aliases=system_aliases or {},
    )


def value_set_files(directory: Traversable) -> list[Traversable]:
    """The value set files of a knowledge directory, in name order."""
    folder = directory.joinpath("valuesets")
    if not folder.is_dir():
        return []
    return sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)


def load_system_aliases(directory: Traversable) -> dict[str, str]:
    """alias -> canonical code system URI, from `directory/code-systems.json` (empty when absent)."""
    file = directory.joinpath(CODE_SYSTEMS_FILE)
    if not file.is_file():
        return {}
    raw = json.loads(file.read_text("utf-8"))
    return {alias: canonical for canonical, aliases in raw.get("aliases", {}).items() for alias in aliases}


def load_value_sets(directory: Traversable) -> dict[str, ValueSet]:
    """Load every value set under `directory/valuesets/`, keyed by id."""
    aliases = load_system_aliases(directory)
    sets: dict[str, ValueSet] = {}
    for file in value_set_files(directory):
        value_set = parse_value_set(json.loads(file.read_text("utf-8")), aliases)
        sets[value_set.id] = value_set
    return sets
