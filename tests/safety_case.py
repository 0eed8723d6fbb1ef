"""Reads the clinical safety case (docs/clinical-safety.md) and checks it against the test suite.

The hazard log names the tests that verify each control as pytest node ids. A node id is checked
by reading the test module's syntax tree (no import, no collection): the module is under the
configured testpaths, the function (or class method) is defined, and nothing marks it skip or xfail.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

SEVERITIES = ("Minor", "Significant", "Considerable", "Major", "Catastrophic")
LIKELIHOODS = ("Very low", "Low", "Medium", "High", "Very high")
# The DCB0129 / DCB0160 implementation guidance risk matrix: rating by likelihood (rows, as above)
# and severity (columns, as above). 5 unacceptable ... 1 acceptable.
DCB_MATRIX = {
    "Very high": (3, 4, 4, 5, 5),
    "High": (2, 3, 3, 4, 5),
    "Medium": (2, 2, 3, 3, 4),
    "Low": (1, 2, 2, 3, 4),
    "Very low": (1, 1, 2, 2, 3),
}
CONTROL_KINDS = frozenset({"design", "code", "knowledge", "wording", "operations"})
FIELDS = (
    "Description",
    "Causes",
    "Effect",
    "Initial risk",
    "Controls",
    "Residual risk",
    "Deployment (DCB0160)",
)

NODE_ID = re.compile(r"`(tests/[^`\s:]+\.py(?:::[^`\s]+)+)`")
PENDING = re.compile(r"control pending: issue \d+", re.IGNORECASE)
HAZARD_HEADING = re.compile(r"^### (HAZ-\d{2}): (.+)$", re.MULTILINE)
RISK = re.compile(r"Severity: ([A-Za-z ]+?)\. Likelihood: ([A-Za-z ]+?)\. Rating: (\d)\b")
CONTROL_ROW = re.compile(r"^\| (HAZ-\d{2}\.\d+) \| ([a-z]+) \| (.+?) \| (.+) \|$", re.MULTILINE)
SKIPPING_MARK = re.compile(r"\bmark\.(skip|skipif|xfail)\b|\bpytest\.(skip|xfail)\(")


@dataclass(frozen=True)
class Control:
    """One control of a hazard: its id, kind, what it does and how it is verified."""

    id: str
    kind: str
    text: str
    verified_by: str

    @property
    def tests(self) -> list[str]:
        """The pytest node ids named as verifying this control."""
        return NODE_ID.findall(self.verified_by)

    @property
    def pending(self) -> bool:
        """True when the control is being built elsewhere and says so."""
        return PENDING.search(self.verified_by) is not None


@dataclass
class Hazard:
    """One hazard section of the log."""

    id: str
    title: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    controls: list[Control] = field(default_factory=list)


def hazards(document: str) -> list[Hazard]:
    """Every `### HAZ-nn: title` section, with its labelled fields and its controls table."""
    found = []
    headings = list(HAZARD_HEADING.finditer(document))
    for number, heading in enumerate(headings):
        end = headings[number + 1].start() if number + 1 < len(headings) else len(document)
        text = document[heading.end() : end].split("\n## ", 1)[0]
        hazard = Hazard(heading.group(1), heading.group(2).strip(), text)
        labels = list(re.finditer(r"^\*\*(.+?)\.\*\*", text, re.MULTILINE))
        for index, label in enumerate(labels):
            stop = labels[index + 1].start() if index + 1 < len(labels) else len(text)
            hazard.fields[label.group(1)] = text[label.end() : stop].strip()
        hazard.controls = [Control(*row.groups()) for row in CONTROL_ROW.finditer(text)]
        found.append(hazard)
    return found


def risk(text: str) -> tuple[str, str, int] | None:
    """(severity, likelihood, rating) stated in a risk field, or None when it states none."""
    stated = RISK.search(text)
    if stated is None:
        return None
    return stated.group(1), stated.group(2), int(stated.group(3))


def field_problems(hazard: Hazard) -> Iterator[str]:
    """Missing or empty fields, risks that do not follow the matrix, malformed controls."""
    for name in FIELDS:
        if not hazard.fields.get(name):
            yield f"{hazard.id} has no '{name}' field (write **{name}.** followed by its text)"
    ratings = {}
    for name in ("Initial risk", "Residual risk"):
        if not hazard.fields.get(name):
            continue
        stated = risk(hazard.fields[name])
        if stated is None:
            yield f"{hazard.id} '{name}' must read 'Severity: S. Likelihood: L. Rating: N.'"
            continue
        severity, likelihood, rating = stated
        if severity not in SEVERITIES or likelihood not in LIKELIHOODS:
            yield f"{hazard.id} '{name}': unknown severity {severity!r} or likelihood {likelihood!r}"
            continue
        expected = DCB_MATRIX[likelihood][SEVERITIES.index(severity)]
        if rating != expected:
            yield f"{hazard.id} '{name}': {severity} x {likelihood} is rating {expected}, not {rating}"
        ratings[name] = rating
    if ratings.get("Residual risk", 0) > ratings.get("Initial risk", 5):
        yield f"{hazard.id}: the residual risk is rated above the initial risk"
    if hazard.fields.get("Controls") and not hazard.controls:
        yield f"{hazard.id} has a Controls field without control rows ('| {hazard.id}.1 | kind | ... |')"
    for control in hazard.controls:
        if not control.id.startswith(f"{hazard.id}."):
            yield f"{hazard.id} lists control {control.id}, which belongs to another hazard"
        if control.kind not in CONTROL_KINDS:
            kinds = ", ".join(sorted(CONTROL_KINDS))
            yield f"{hazard.id} control {control.id}: kind {control.kind!r} is not one of {kinds}"


def verification_problems(hazard: Hazard) -> Iterator[str]:
    """A hazard with no test and no pending marker, or a control verified by nothing."""
    if not any(control.tests or control.pending for control in hazard.controls):
        yield f"{hazard.id} ({hazard.title}) names no test and no 'control pending: issue N'"
    for control in hazard.controls:
        if not (control.tests or control.pending or control.verified_by.startswith("by review:")):
            yield (
                f"{hazard.id} control {control.id} is verified by neither a test, "
                "'control pending: issue N' nor 'by review: ...'"
            )


def testpaths(repo: Path) -> list[Path]:
    """The default test paths of the pytest configuration in pyproject.toml."""
    config = tomllib.loads((repo / "pyproject.toml").read_text("utf-8"))
    paths = config.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("testpaths", ["."])
    return [(repo / path).resolve() for path in paths]


def _skipping(nodes: list[ast.expr]) -> str | None:
    for node in nodes:
        source = ast.unparse(node)
        if SKIPPING_MARK.search(source):
            return source
    return None


def _module_marks(tree: ast.Module) -> list[ast.expr]:
    return [
        statement.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "pytestmark" for target in statement.targets)
    ]


def _function(scope: list[ast.stmt], name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for statement in scope:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == name:
            return statement
    return None


def node_problem(repo: Path, node_id: str) -> str | None:
    """Why this pytest node id is not a test the default run collects and runs, or None when it is."""
    path, *names = node_id.split("::")
    module = (repo / path).resolve()
    if not any(module.is_relative_to(root) for root in testpaths(repo)):
        return f"{path} is not under the default testpaths"
    if not (fnmatch(module.name, "test_*.py") or fnmatch(module.name, "*_test.py")):
        return f"{path} is not a test module name pytest collects"
    if not module.is_file():
        return f"no module {path}"
    tree = ast.parse(module.read_text("utf-8"))
    names[-1] = names[-1].split("[", 1)[0]  # a parametrized case: the function holds the cases
    marks: list[ast.expr] = _module_marks(tree)
    scope: list[ast.stmt] = tree.body
    for class_name in names[:-1]:
        owner = next((s for s in scope if isinstance(s, ast.ClassDef) and s.name == class_name), None)
        if owner is None or not class_name.startswith("Test"):
            return f"no test class {class_name} in {path}"
        marks += owner.decorator_list
        scope = owner.body
    function = _function(scope, names[-1])
    if function is None or not function.name.startswith("test"):
        return f"no test function {names[-1]} in {path}"
    skipping = _skipping([*marks, *function.decorator_list]) or _skipping(
        [n for n in ast.walk(function) if isinstance(n, ast.Call)]
    )
    if skipping is not None:
        return f"{node_id} may be skipped or expected to fail ({skipping})"
    return None
