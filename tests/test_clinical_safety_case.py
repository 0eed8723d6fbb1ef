"""The clinical safety case stays true: every test its hazard log names exists and runs in the suite.

docs/clinical-safety.md names, for each control of each hazard, the tests that verify it. A renamed,
deleted, skipped or xfail-marked test would leave a control the clinical safety officer signed for
without proof; these tests fail instead, naming the hazard and the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.safety_case import (
    DCB_MATRIX,
    LIKELIHOODS,
    NODE_ID,
    SEVERITIES,
    field_problems,
    hazards,
    node_problem,
    risk,
    verification_problems,
)

DOCUMENT = REPO / "docs" / "clinical-safety.md"
TEXT = DOCUMENT.read_text("utf-8")
HAZARDS = hazards(TEXT)


def test_the_hazard_log_holds_the_hazards_a_safety_officer_expects() -> None:
    assert len(HAZARDS) >= 13
    assert len({h.id for h in HAZARDS}) == len(HAZARDS), "two hazards share an id"
    titles = " ".join(h.title.lower() for h in HAZARDS)
    for words in ("cauda equina", "another patient", "guideline", "value set", "down or slow", "overridden"):
        assert words in titles, f"no hazard about {words!r}"


def test_every_test_the_document_names_exists_and_runs_in_the_default_suite() -> None:
    places: dict[str, list[str]] = {node: [] for node in NODE_ID.findall(TEXT)}
    for hazard in HAZARDS:
        for control in hazard.controls:
            for node in control.tests:
                places[node].append(f"{hazard.id} control {control.id}")
    problems = [
        f"{', '.join(where) or 'outside the hazard controls'} names {node}: {problem}"
        for node, where in places.items()
        if (problem := node_problem(REPO, node)) is not None
    ]
    assert places, "the document names no test"
    assert not problems, "\n".join(problems)


def test_every_hazard_has_its_fields_and_ratings_that_follow_the_matrix() -> None:
    problems = [problem for hazard in HAZARDS for problem in field_problems(hazard)]
    assert not problems, "\n".join(problems)


def test_every_hazard_is_verified_by_a_test_or_marked_control_pending() -> None:
    problems = [problem for hazard in HAZARDS for problem in verification_problems(hazard)]
    assert not problems, "\n".join(problems)


def test_the_hazard_index_agrees_with_the_hazards() -> None:
    rows = re.findall(r"^\| \[(HAZ-\d{2})\]\(#[^)]+\) \| .+? \| (\d) \| (\d) \|$", TEXT, re.MULTILINE)
    index = {hazard: (int(initial), int(residual)) for hazard, initial, residual in rows}
    described = {}
    for hazard in HAZARDS:
        initial, residual = (risk(hazard.fields.get(name, "")) for name in ("Initial risk", "Residual risk"))
        described[hazard.id] = (initial[2] if initial else 0, residual[2] if residual else 0)
    assert index == described


def test_the_document_prints_the_dcb0129_matrix_it_rates_with() -> None:
    section = TEXT.split("### Risk matrix", 1)[1].split("\n### ", 1)[0]
    for likelihood in LIKELIHOODS:
        row = re.search(rf"^\| \*\*{likelihood}\*\* \|(.+)\|$", section, re.MULTILINE)
        assert row is not None, f"no matrix row for {likelihood}"
        assert tuple(int(cell.strip()) for cell in row.group(1).split("|")) == DCB_MATRIX[likelihood]
    assert all(severity in section for severity in SEVERITIES)


# --- the checks themselves find what they are for ------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small repository: a pytest configuration and one test module of each kind."""
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_cases.py").write_text(
        "import pytest\n\n"
        "def test_kept():\n    pass\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\ndef test_cases(n):\n    pass\n\n"
        "@pytest.mark.skip(reason='later')\ndef test_skipped():\n    pass\n\n"
        "@pytest.mark.xfail\ndef test_failing():\n    pass\n\n"
        "def test_skips_itself():\n    pytest.skip('no')\n\n"
        "class TestGroup:\n    def test_method(self):\n        pass\n"
    )
    (tmp_path / "tests" / "test_marked.py").write_text(
        "import pytest\npytestmark = pytest.mark.skipif(True, reason='x')\n\ndef test_any():\n    pass\n"
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "test_tool.py").write_text("def test_outside():\n    pass\n")
    return tmp_path


@pytest.mark.parametrize(
    "node",
    [
        "tests/test_cases.py::test_kept",
        "tests/test_cases.py::test_cases[2]",
        "tests/test_cases.py::TestGroup::test_method",
    ],
)
def test_a_test_that_runs_in_the_suite_is_accepted(repo: Path, node: str) -> None:
    assert node_problem(repo, node) is None


@pytest.mark.parametrize(
    "node, why",
    [
        ("tests/test_cases.py::test_renamed", "no test function test_renamed"),
        ("tests/test_gone.py::test_kept", "no module tests/test_gone.py"),
        ("tests/test_cases.py::test_skipped", "may be skipped"),
        ("tests/test_cases.py::test_failing", "expected to fail"),
        ("tests/test_cases.py::test_skips_itself", "may be skipped"),
        ("tests/test_marked.py::test_any", "may be skipped"),
        ("tests/test_cases.py::TestMissing::test_method", "no test class TestMissing"),
        ("scripts/test_tool.py::test_outside", "not under the default testpaths"),
    ],
)
def test_a_test_the_suite_would_not_run_is_reported(repo: Path, node: str, why: str) -> None:
    problem = node_problem(repo, node)
    assert problem is not None and why in problem


INCOMPLETE = """
### HAZ-01: A hazard with its controls untested

**Description.** Something.

**Initial risk.** Severity: Major. Likelihood: Low. Rating: 2.

**Controls.**

| id | kind | control | verified by |
| --- | --- | --- | --- |
| HAZ-01.1 | magic | A control. | nothing yet |

**Residual risk.** Severity: Major. Likelihood: High. Rating: 4.
"""


def test_a_hazard_without_fields_tests_or_a_true_rating_is_reported() -> None:
    [hazard] = hazards(INCOMPLETE)
    problems = "\n".join([*field_problems(hazard), *verification_problems(hazard)])
    assert "HAZ-01 has no 'Causes' field" in problems
    assert "HAZ-01 has no 'Deployment (DCB0160)' field" in problems
    assert "Major x Low is rating 3, not 2" in problems
    assert "residual risk is rated above the initial risk" in problems
    assert "kind 'magic'" in problems
    assert "HAZ-01 (A hazard with its controls untested) names no test" in problems


def test_a_pending_control_counts_as_verification_until_its_tests_land() -> None:
    pending = INCOMPLETE.replace("nothing yet", "control pending: issue 10 (red-flag check)")
    [hazard] = hazards(pending)
    assert list(verification_problems(hazard)) == []


def test_the_sign_off_summary_lists_every_residual_3_hazard_and_every_pending_control() -> None:
    summary = TEXT.split("### Summary for sign-off", 1)[1].split("\n### ", 1)[0]
    threes = re.search(r"Residual rating 3 .*?: ((?:HAZ-\d{2}(?:, )?)+)\.", summary, re.DOTALL)
    assert threes is not None, "the summary names no residual-3 hazards"
    residual = {h.id: stated[2] for h in HAZARDS if (stated := risk(h.fields.get("Residual risk", "")))}
    assert threes.group(1).split(", ") == [hazard for hazard, rating in residual.items() if rating == 3]
    assert max(residual.values()) < 4, "a residual rating of 4 or 5 contradicts the summary"
    listed = {
        (issue, control)
        for issue, controls in re.findall(r"^  - (issue \d+(?: item \d+)?): (.+)$", summary, re.MULTILINE)
        for control in controls.split(", ")
    }
    pending = {
        (found.group(1), control.id)
        for hazard in HAZARDS
        for control in hazard.controls
        if (found := re.search(r"control pending: (issue \d+(?: item \d+)?)", control.verified_by))
    }
    assert listed == pending
