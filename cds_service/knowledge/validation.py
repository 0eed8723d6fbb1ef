"""Checks that every knowledge file parses and says where each of its values comes from.

Run by `spine-cds knowledge validate` in CI. Design.md safety rules 5 and 6: no code ships without
its verification mark (and a note when unverified), no threshold without a source.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from importlib.resources.abc import Traversable
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.valueset import ValueSet as FhirValueSet
from pydantic import ValidationError

from cds_service.knowledge.order_text import ORDER_TEXT_FILE
from cds_service.knowledge.sctid import concept_id_problem
from cds_service.knowledge.thresholds import THRESHOLDS_FILE
from cds_service.knowledge.valueset import (
    CODE_SOURCE_URL,
    CONTRAST_URL,
    NOTE_URL,
    REGION_URL,
    SOURCE_URL,
    TEXT_PATTERN_URL,
    UK_VERIFIED,
    VERIFICATION_MARKS,
    VERIFICATION_URL,
    extension_values,
    first_extension_value,
    value_set_files,
)
from cds_service.rules.model import Region

GUIDELINE_FILE = "guideline.json"
VALUE_SET_URL_BASE = "https://spine-cds.example.org/fhir/ValueSet/"
SPINE_REGIONS = frozenset(r.value for r in Region) - {Region.UNSPECIFIED.value}
PROVENANCE_KEYS = ("source", "rationale")
# Code systems whose codes are SNOMED CT concept ids (dm+d VTM/VMP/AMP ids are SNOMED UK drug
# extension ids), so a code there must pass the SCTID checks.
SCTID_SYSTEMS = frozenset({"http://snomed.info/sct", "https://dmd.nhs.uk"})
# Keys that describe a whole file rather than being one of its values.
METADATA_KEYS = frozenset({"description", "source", "rationale", "note", "version", "id", "title"})


@dataclass
class ValidationReport:
    """What the validator found: problems (fail) and counts for the summary."""

    problems: list[str] = field(default_factory=list)
    files: int = 0
    value_sets: int = 0
    marks: Counter[str] = field(default_factory=Counter)
    thresholds: int = 0
    guideline_overdue: bool = False

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """A short human summary of what was checked."""
        concepts = sum(self.marks.values())
        marks = ", ".join(f"{count} {mark}" for mark, count in sorted(self.marks.items()))
        review = "OVERDUE for review" if self.guideline_overdue else "in date"
        return (
            f"{self.files} knowledge files; {self.value_sets} value sets; {concepts} codes ({marks}); "
            f"{self.thresholds} thresholds; guideline {review}"
        )


def _read_json(file: Traversable, report: ValidationReport) -> Any:
    try:
        return json.loads(file.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        report.problems.append(f"{file.name}: not valid JSON ({exc})")
        return None


def _check_pattern(where: str, pattern: Any, report: ValidationReport) -> None:
    if not isinstance(pattern, str):
        report.problems.append(f"{where}: pattern must be a string")
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        report.problems.append(f"{where}: pattern {pattern!r} does not compile ({exc})")


def check_value_set(file_name: str, raw: Any, report: ValidationReport) -> None:
    """Structure (fhir.resources R4B), identity, provenance and every concept's verification mark."""
    where = f"valuesets/{file_name}"
    if not isinstance(raw, dict):
        report.problems.append(f"{where}: not a JSON object")
        return
    try:
        FhirValueSet.model_validate(raw)
    except ValidationError as exc:
        report.problems.append(f"{where}: not a valid FHIR R4 ValueSet ({exc.error_count()} errors: {exc})")
    expected_id = file_name.removesuffix(".json")
    if raw.get("id") != expected_id:
        report.problems.append(f"{where}: id {raw.get('id')!r} differs from the file name {expected_id!r}")
    if raw.get("url") != VALUE_SET_URL_BASE + expected_id:
        report.problems.append(f"{where}: url should be {VALUE_SET_URL_BASE + expected_id}")
    if not any(isinstance(v, str) and v.strip() for v in extension_values(raw, SOURCE_URL)):
        report.problems.append(f"{where}: no valueset-source extension saying where the codes come from")
    for pattern in extension_values(raw, TEXT_PATTERN_URL):
        _check_pattern(where, pattern, report)
    seen: set[tuple[str, str]] = set()
    compose = raw.get("compose")
    includes = compose.get("include") if isinstance(compose, dict) else None
    for include in includes if isinstance(includes, list) else ():
        if not isinstance(include, dict):
            continue  # fhir.resources has already reported the shape
        system = include.get("system", "")
        for concept in include.get("concept") or ():
            code = concept.get("code") if isinstance(concept, dict) else None
            label = f"{where}: {system}|{code}"
            if not isinstance(code, str) or not code.strip():
                report.problems.append(f"{label}: every concept needs a code")
                continue
            if (system, code) in seen:
                report.problems.append(f"{label} is listed twice")
            check_sctid(label, system, code, report)
            seen.add((system, code))
            mark = first_extension_value(concept, VERIFICATION_URL)
            if mark not in VERIFICATION_MARKS:
                report.problems.append(
                    f"{label} has no valid code-verification mark (one of {sorted(VERIFICATION_MARKS)})"
                )
                continue
            report.marks[mark] += 1
            note = first_extension_value(concept, NOTE_URL)
            if mark == "unverified" and not (isinstance(note, str) and note.strip()):
                report.problems.append(f"{label} is unverified and has no code-note saying so")
            code_source = first_extension_value(concept, CODE_SOURCE_URL)
            if mark == UK_VERIFIED and not (isinstance(code_source, str) and code_source.strip()):
                report.problems.append(f"{label} is {UK_VERIFIED} and has no code-source naming the UK set")
            for region in extension_values(concept, REGION_URL):
                if region not in SPINE_REGIONS:
                    report.problems.append(f"{label}: unknown spine-region {region!r}")
            contrast = first_extension_value(concept, CONTRAST_URL)
            if contrast is not None and not isinstance(contrast, bool):
                report.problems.append(f"{label}: contrast must be valueBoolean")
    report.value_sets += 1


def check_sctid(label: str, system: Any, code: str, report: ValidationReport) -> None:
    """A SNOMED CT or dm+d code must be a well-formed concept id (length, partition, check digit)."""
    if system in SCTID_SYSTEMS:
        problem = concept_id_problem(code)
        if problem is not None:
            report.problems.append(f"{label} is not a valid SNOMED CT concept id: it {problem}")


def check_thresholds(raw: Any, report: ValidationReport) -> None:
    """Every threshold is an object with a value and a non-empty source."""
    if not isinstance(raw, dict):
        report.problems.append(f"{THRESHOLDS_FILE}: must be a JSON object of named thresholds")
        return
    for name, entry in raw.items():
        if not isinstance(entry, dict) or "value" not in entry:
            report.problems.append(f"{THRESHOLDS_FILE}: {name!r} has no value")
            continue
        if not (isinstance(entry.get("source"), str) and entry["source"].strip()):
            report.problems.append(f"{THRESHOLDS_FILE}: {name!r} has no source")
        report.thresholds += 1


def check_guideline(raw: Any, report: ValidationReport, today: date) -> None:
    """The guideline's identity is complete and its checked and review dates parse."""
    if not isinstance(raw, dict):
        report.problems.append(f"{GUIDELINE_FILE}: not a JSON object")
        return
    for key in ("id", "title", "publisher", "label", "url", "source"):
        if not (isinstance(raw.get(key), str) and raw[key].strip()):
            report.problems.append(f"{GUIDELINE_FILE}: {key!r} is missing")
    dates: dict[str, date] = {}
    for key in ("checked", "next_review"):
        try:
            dates[key] = date.fromisoformat(str(raw.get(key)))
        except ValueError:
            report.problems.append(f"{GUIDELINE_FILE}: {key!r} is not an ISO date ({raw.get(key)!r})")
    if "next_review" in dates:
        report.guideline_overdue = today > dates["next_review"]


def check_order_text(raw: Any, report: ValidationReport) -> None:
    """Region and contrast text patterns compile, name known regions and carry a source."""
    if not isinstance(raw, dict):
        report.problems.append(f"{ORDER_TEXT_FILE}: not a JSON object")
        return
    for group in ("regions", "contrast"):
        for index, entry in enumerate(raw.get(group) or ()):
            where = f"{ORDER_TEXT_FILE}: {group}[{index}]"
            if not isinstance(entry, dict):
                report.problems.append(f"{where}: not an object")
                continue
            _check_pattern(where, entry.get("pattern"), report)
            if group == "regions" and entry.get("region") not in SPINE_REGIONS:
                report.problems.append(f"{where}: unknown region {entry.get('region')!r}")
            if group == "contrast" and not isinstance(entry.get("contrast"), bool):
                report.problems.append(f"{where}: contrast must be true or false")
            if not has_provenance(entry):
                report.problems.append(f"{where}: no source")


def has_provenance(node: Any) -> bool:
    """True when a value carries a source/rationale, or every value inside it does."""
    if isinstance(node, dict):
        if any(isinstance(node.get(k), str) and node[k].strip() for k in PROVENANCE_KEYS):
            return True
        return bool(node) and all(has_provenance(v) for v in node.values())
    if isinstance(node, list):
        return bool(node) and all(has_provenance(v) for v in node)
    return False


def _codings(node: Any) -> list[dict[str, Any]]:
    """Every dict with a system and a code anywhere inside `node`."""
    if isinstance(node, list):
        return [c for item in node for c in _codings(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if "system" in node and "code" in node else []
    return own + [c for value in node.values() for c in _codings(value)]


def check_other_file(name: str, raw: Any, report: ValidationReport) -> None:
    """Any other knowledge file: its values say where they come from; its codes carry their marks.

    A top-level "source" covers the file's plain values; without one, each top-level entry needs its
    own "source" or "rationale". Codings ({system, code}) anywhere need a source and a verification
    mark, and a note when unverified (design.md safety rule 5).
    """
    if not isinstance(raw, dict | list):
        report.problems.append(f"{name}: not a JSON object or list")
        return
    file_sourced = isinstance(raw, dict) and any(
        isinstance(raw.get(k), str) and raw[k].strip() for k in PROVENANCE_KEYS
    )
    entries = raw.items() if isinstance(raw, dict) else enumerate(raw)
    for key, value in entries:
        if file_sourced or (isinstance(key, str) and (key in METADATA_KEYS or key.startswith(("$", "_")))):
            continue
        if not has_provenance(value):
            report.problems.append(f"{name}: {key!r} has no 'source' or 'rationale'")
    for coding in _codings(raw):
        label = f"{name}: {coding.get('system')}|{coding.get('code')}"
        check_sctid(label, coding.get("system"), str(coding.get("code")), report)
        if not (file_sourced or has_provenance(coding)):
            report.problems.append(f"{label} has no source")
        mark = coding.get("verification")
        if mark is None:
            continue
        if mark not in VERIFICATION_MARKS:
            report.problems.append(
                f"{label}: verification {mark!r} is not one of {sorted(VERIFICATION_MARKS)}"
            )
            continue
        report.marks[mark] += 1
        if mark == "unverified" and not (isinstance(coding.get("note"), str) and coding["note"].strip()):
            report.problems.append(f"{label} is unverified and has no note saying so")


def check_fhir_resource(where: str, raw: dict[str, Any], report: ValidationReport) -> None:
    """Any other FHIR resource (e.g. a CodeSystem): structurally valid, id equals the file name, described."""
    try:
        get_fhir_model_class(str(raw["resourceType"])).model_validate(raw)
    except (KeyError, ValueError) as exc:
        report.problems.append(f"{where}: not a valid FHIR R4 {raw['resourceType']} ({exc})")
    expected_id = where.rsplit("/", 1)[-1].removesuffix(".json")
    if raw.get("id") != expected_id:
        report.problems.append(f"{where}: id {raw.get('id')!r} differs from the file name {expected_id!r}")
    if not (isinstance(raw.get("description"), str) and raw["description"].strip()):
        report.problems.append(f"{where}: no description saying what it is for and where it comes from")


def _check_subdirectories(directory: Traversable, report: ValidationReport) -> None:
    """JSON files in folders other than valuesets/: FHIR resources or provenance-carrying data."""
    for folder in sorted(directory.iterdir(), key=lambda f: f.name):
        if not folder.is_dir() or folder.name in ("valuesets", "__pycache__"):
            continue
        for file in sorted(folder.iterdir(), key=lambda f: f.name):
            if not file.name.endswith(".json"):
                continue
            report.files += 1
            raw = _read_json(file, report)
            where = f"{folder.name}/{file.name}"
            if isinstance(raw, dict) and "resourceType" in raw:
                check_fhir_resource(where, raw, report)
            elif raw is not None:
                check_other_file(where, raw, report)


def validate_knowledge(directory: Traversable, today: date | None = None) -> ValidationReport:
    """Check every JSON file of a knowledge directory; the report lists each problem found."""
    report = ValidationReport()
    today = today or date.today()
    for file in value_set_files(directory):
        report.files += 1
        raw = _read_json(file, report)
        if raw is not None:
            check_value_set(file.name, raw, report)
    if report.value_sets == 0 and not any("valuesets/" in p for p in report.problems):
        report.problems.append("valuesets/: no value sets found")
    top_level = sorted((f for f in directory.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    names = {f.name for f in top_level}
    for required in (GUIDELINE_FILE, THRESHOLDS_FILE):
        if required not in names:
            report.problems.append(f"{required}: missing")
    checks = {
        THRESHOLDS_FILE: check_thresholds,
        ORDER_TEXT_FILE: check_order_text,
    }
    for file in top_level:
        report.files += 1
        raw = _read_json(file, report)
        if raw is None:
            continue
        if file.name == GUIDELINE_FILE:
            check_guideline(raw, report, today)
        elif file.name in checks:
            checks[file.name](raw, report)
        else:
            check_other_file(file.name, raw, report)
    _check_subdirectories(directory, report)
    return report
