"""`spine-cds report`: how GPs responded to the advice, by pathway and override reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service import Settings
from cds_service.cli import main
from cds_service.rules.model import Decision, Pathway
from cds_service.store import DecisionStore, open_store
from tests.store_samples import accepted, lumbar_mri_decision, overridden, response_with_cards


def _log(store: DecisionStore, *decisions: Decision) -> None:
    store.log_decisions(
        service_id="spinal-imaging-order-sign",
        hook="order-sign",
        hook_instance="i-1",
        patient_id="p1",
        decisions=decisions,
        response=response_with_cards(*decisions),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A decision log with a month of GP responses to cancer and not-indicated advice."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_store(Settings(database_url=url, patient_hash_key="k"))
    cancer = [lumbar_mri_decision(Pathway.URGENT_MRI_SUSPECTED_CANCER) for _ in range(4)]
    routine = [lumbar_mri_decision(Pathway.IMAGING_NOT_INDICATED) for _ in range(3)]
    _log(store, *cancer, *routine)
    store.save_feedback(
        service_id="spinal-imaging-order-sign",
        items=[
            accepted(cancer[0]),
            accepted(cancer[1]),
            overridden(cancer[2], code="already-imaged"),
            accepted(routine[0]),
            overridden(routine[1], code="patient-insists"),
            overridden(routine[2], code="patient-insists"),
            accepted(lumbar_mri_decision()),  # a card this log never showed
        ],
    )
    store.close()
    return url


def test_report_gives_acceptance_and_override_rates_by_pathway(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--database-url", database_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_pathway = {p["pathway"]: p for p in report["pathways"]}
    cancer = by_pathway["urgent-mri-suspected-cancer"]
    assert (cancer["decisions"], cancer["withFeedback"], cancer["accepted"], cancer["overridden"]) == (
        4,
        3,
        2,
        1,
    )
    assert cancer["acceptanceRate"] == pytest.approx(2 / 3)
    routine = by_pathway["imaging-not-indicated"]
    assert routine["overrideRate"] == pytest.approx(2 / 3)
    assert routine["overrideReasons"] == {"https://spine-cds.example.org/reasons|patient-insists": 2}
    assert report["overrideReasons"][0]["count"] == 2
    assert report["unmatchedFeedback"] == 1


def test_report_prints_readable_tables(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--database-url", database_url]) == 0
    out = capsys.readouterr().out
    cancer_line = next(line for line in out.splitlines() if line.startswith("urgent-mri-suspected-cancer"))
    assert cancer_line.split() == ["urgent-mri-suspected-cancer", "4", "4", "3", "2", "1", "66.7%", "33.3%"]
    assert "patient-insists" in out and "2 on imaging-not-indicated" in out


def test_report_since_a_future_date_is_empty(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--database-url", database_url, "--since", "2999-01-01"]) == 0
    assert "(no decisions logged)" in capsys.readouterr().out


def test_report_on_a_missing_database_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--database-url", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 1
    assert "No decision log" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
