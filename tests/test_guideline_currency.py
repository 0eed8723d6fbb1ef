"""An overdue guideline is said out loud to whoever validates the knowledge, without failing the build."""

from __future__ import annotations

import pytest

from cds_service.cli import main


def test_validating_the_shipped_knowledge_warns_that_the_guideline_is_overdue_for_review(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["knowledge", "validate"]) == 0  # overdue is a warning for the clinical lead, not a failure
    out = capsys.readouterr().out
    assert "warning: the guideline's review date has passed; the clinical lead must re-check it" in out
    assert "guideline OVERDUE for review" in out
