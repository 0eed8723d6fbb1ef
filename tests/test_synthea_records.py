"""Real-shaped Synthea records (tests/data/synthea) are read correctly by the red-flag engine."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cds_service.fhir.record import PatientRecord
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import CodeRef, Decision, ImagingOrder, Modality, Pathway, RedFlagId, Region
from cds_service.rules.pathway import decide

SYNTHEA = Path(__file__).resolve().parent / "data" / "synthea"
AS_OF = date(2026, 11, 20)


def load(prefix: str) -> PatientRecord:
    """The Synthea bundle whose file name starts with `prefix`, as a PatientRecord."""
    (path,) = SYNTHEA.glob(f"{prefix}_*.json")
    bundle = json.loads(path.read_text("utf-8"))
    resources: list[dict[str, Any]] = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return PatientRecord.from_resources(patient, resources, as_of=AS_OF)


def lumbar_mri() -> ImagingOrder:
    """A draft lumbar MRI order."""
    return ImagingOrder(
        reference="ServiceRequest/draft-1",
        resource={"resourceType": "ServiceRequest", "id": "draft-1", "status": "draft"},
        modality=Modality.MRI,
        regions=(Region.LUMBAR,),
        contrast=None,
        matched=CodeRef("http://loinc.org", "24968-0", "MR L-spine"),
        matched_by="code",
    )


def decide_for(prefix: str) -> Decision:
    """The engine's decision on a lumbar MRI for this Synthea patient."""
    return decide(lumbar_mri(), load(prefix), load_knowledge(), consult_id="urn:uuid:synthea")


def test_active_osteoporosis_with_pathological_fracture_is_the_osteoporosis_flag():
    decision = decide_for("Lonnie_Von")
    assert RedFlagId.OSTEOPOROSIS in decision.red_flag_ids
    # 76 years old with osteoporosis: two fracture risk factors.
    assert decision.pathway == Pathway.XRAY_SUSPECTED_FRACTURE


def test_topical_steroid_only_is_not_a_steroid_flag():
    decision = decide_for("Stephen_McLaughlin")
    assert RedFlagId.CORTICOSTEROID_USE not in decision.red_flag_ids
    assert decision.pathway == Pathway.IMAGING_NOT_INDICATED


def test_old_stopped_prednisone_is_not_current_steroid_use():
    assert RedFlagId.CORTICOSTEROID_USE not in decide_for("Tyrell_Towne").red_flag_ids


def test_prostate_cancer_is_a_history_of_cancer_and_gets_urgent_mri():
    decision = decide_for("Andy_Schaden")
    assert RedFlagId.HISTORY_OF_CANCER in decision.red_flag_ids
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER


def test_active_methotrexate_is_immunosuppression():
    decision = decide_for("Asa_Hermiston")
    assert RedFlagId.IMMUNOSUPPRESSION in decision.red_flag_ids
    assert RedFlagId.CORTICOSTEROID_USE not in decision.red_flag_ids  # topical cream and inhaler only


@pytest.mark.parametrize(
    "prefix, died_on",
    [
        # Dates of death as the Synthea files state them (Patient.deceasedDateTime).
        ("Adán_Pulido", "2007-03-25"),
        ("Cary_O'Hara", None),
        ("Austin_Franecki", "1989-07-25"),
        ("Twyla_Moen", None),
    ],
)
def test_deceased_patients_and_odd_file_names_are_read(prefix: str, died_on: str | None) -> None:
    decision = decide_for(prefix)
    assert (decision.deceased.date if decision.deceased else None) == died_on
    for flag in decision.red_flags:
        assert flag.evidence


def test_metastatic_prostate_cancer_record_gets_urgent_mri():
    decision = decide_for("Adán_Pulido")
    assert decision.pathway == Pathway.URGENT_MRI_SUSPECTED_CANCER
    assert "metastatic" in decision.extras["features"]
