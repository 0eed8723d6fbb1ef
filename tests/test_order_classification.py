"""Order classification: which draft orders are spinal X-ray, CT or MRI, of which region, with contrast."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.knowledge import Knowledge, load_knowledge
from cds_service.rules.classify import classify_order
from cds_service.rules.model import ImagingOrder, Modality, Region

CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def order(code: Any = None, *, id: str | None = "sr-1", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order"}
    if id is not None:
        resource["id"] = id
    if code is not None:
        resource["code"] = code
    resource.update(extra)
    return resource


def coded(
    system: str | None, code: str, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    coding: dict[str, Any] = {"code": code}
    if system:
        coding["system"] = system
    if display:
        coding["display"] = display
    concept: dict[str, Any] = {"coding": [coding]}
    if text:
        concept["text"] = text
    return concept


def classify(knowledge: Knowledge, resource: dict[str, Any]) -> ImagingOrder:
    result = classify_order(resource, knowledge)
    assert result is not None, f"expected spinal imaging: {resource.get('code')}"
    return result


def test_lumbar_mri_by_cpt_72148_is_spinal_mri_of_the_lumbar_spine_without_contrast(knowledge):
    result = classify(knowledge, order(coded(CPT, "72148", "MRI lumbar spine w/o contrast")))
    assert result.modality is Modality.MRI
    assert result.regions == (Region.LUMBAR,)
    assert result.contrast is False
    assert result.matched_by == "code"
    assert result.matched.code == "72148"
    assert result.reference == "ServiceRequest/sr-1"


def test_cervical_mri_with_and_without_contrast_by_cpt_72156_has_contrast(knowledge):
    result = classify(knowledge, order(coded(CPT, "72156")))
    assert (result.modality, result.regions, result.contrast) == (Modality.MRI, (Region.CERVICAL,), True)


def test_ct_lumbar_spine_is_spinal_ct(knowledge):
    result = classify(knowledge, order(coded(CPT, "72131", "CT lumbar spine without contrast")))
    assert (result.modality, result.regions, result.contrast) == (Modality.CT, (Region.LUMBAR,), False)


def test_lumbosacral_xray_by_cpt_72100_covers_lumbar_and_sacral_spine(knowledge):
    result = classify(knowledge, order(coded(CPT, "72100")))
    assert result.modality is Modality.XRAY
    assert set(result.regions) == {Region.LUMBAR, Region.SACRAL}


def test_single_view_spine_xray_72020_takes_its_level_from_the_text(knowledge):
    result = classify(knowledge, order(coded(CPT, "72020", text="XR spine single view, T-spine")))
    assert result.modality is Modality.XRAY
    assert result.regions == (Region.THORACIC,)


@pytest.mark.parametrize(
    ("code", "modality", "region", "contrast"),
    [
        ("30679-5", Modality.MRI, Region.LUMBAR, False),
        ("24937-5", Modality.MRI, Region.CERVICAL, True),
        ("24979-7", Modality.CT, Region.THORACIC, True),
        ("24972-2", Modality.XRAY, Region.LUMBAR, None),
        ("30884-1", Modality.XRAY, Region.SACRAL, None),
        ("30855-1", Modality.MRI, Region.WHOLE_SPINE, True),
    ],
)
def test_rsna_loinc_playbook_codes_give_modality_region_and_contrast(
    knowledge, code, modality, region, contrast
):
    result = classify(knowledge, order(coded(LOINC, code)))
    assert (result.modality, result.regions, result.contrast) == (modality, (region,), contrast)


def test_uk_record_sends_international_snomed_lumbar_mri_with_contrast(knowledge):
    result = classify(knowledge, order(coded(SNOMED, "41333006", "MRI of lumbar spine with contrast")))
    assert (result.modality, result.regions, result.contrast) == (Modality.MRI, (Region.LUMBAR,), True)


def test_uk_record_sends_the_international_spine_mri_parent_with_a_region_in_the_text(knowledge):
    result = classify(knowledge, order(coded(SNOMED, "241645008", text="MRI spine - cervical")))
    assert result.modality is Modality.MRI
    assert result.regions == (Region.CERVICAL,)


def test_us_extension_snomed_code_for_lumbar_mri_without_contrast(knowledge):
    result = classify(knowledge, order(coded(SNOMED, "394451000119106")))
    assert (result.modality, result.regions, result.contrast) == (Modality.MRI, (Region.LUMBAR,), False)


def test_snomed_whole_spine_ct_and_cervical_xray(knowledge):
    ct = classify(knowledge, order(coded(SNOMED, "429875006")))
    xray = classify(knowledge, order(coded(SNOMED, "712970008")))
    assert (ct.modality, ct.regions) == (Modality.CT, (Region.WHOLE_SPINE,))
    assert (xray.modality, xray.regions) == (Modality.XRAY, (Region.CERVICAL,))


def test_whole_spine_mri_ordered_by_text_only(knowledge):
    result = classify(knowledge, order({"text": "MRI whole spine with and without contrast"}))
    assert result.modality is Modality.MRI
    assert result.regions == (Region.WHOLE_SPINE,)
    assert result.contrast is True


def test_local_code_mri_l_spine_with_text_only_is_spinal_mri(knowledge):
    local = {"coding": [{"system": "urn:oid:1.2.3.4.5", "code": "MRLSP"}], "text": "MRI L-SPINE"}
    result = classify(knowledge, order(local))
    assert result.modality is Modality.MRI
    assert result.regions == (Region.LUMBAR,)
    assert result.contrast is None
    assert result.matched_by == "text"
    assert result.matched.display == "MRI L-SPINE"


@pytest.mark.parametrize(
    ("text", "modality", "regions", "contrast"),
    [
        ("XR lumbar spine", Modality.XRAY, {Region.LUMBAR}, None),
        ("MR C-spine W/O", Modality.MRI, {Region.CERVICAL}, False),
        ("CT thoracic spine with contrast", Modality.CT, {Region.THORACIC}, True),
        ("X-ray lumbosacral spine AP and lateral", Modality.XRAY, {Region.LUMBAR, Region.SACRAL}, None),
        ("Lumbar spine MRI", Modality.MRI, {Region.LUMBAR}, None),
        ("Magnetic resonance imaging of sacrum", Modality.MRI, {Region.SACRAL}, None),
        ("MRI Spine Lumbar W/WO Contrast", Modality.MRI, {Region.LUMBAR}, True),
        ("MRI L4/5", Modality.MRI, {Region.LUMBAR}, None),
        ("XR T/L spine", Modality.XRAY, {Region.THORACIC, Region.LUMBAR}, None),
        ("MRI C, T and L spine", Modality.MRI, {Region.WHOLE_SPINE}, None),
        ("MRI cord compression screen", Modality.MRI, {Region.WHOLE_SPINE}, None),
    ],
)
def test_local_order_text_is_read_for_modality_region_and_contrast(
    knowledge, text, modality, regions, contrast
):
    result = classify(knowledge, order({"text": text}))
    assert (result.modality, set(result.regions), result.contrast) == (modality, regions, contrast)


def test_display_alone_is_read_when_the_code_is_local(knowledge):
    result = classify(knowledge, order(coded(None, "LOC123", "CT SPINE LUMBAR")))
    assert (result.modality, result.regions) == (Modality.CT, (Region.LUMBAR,))


def test_spinal_order_text_without_a_region_is_unspecified(knowledge):
    result = classify(knowledge, order({"text": "X-ray spine"}))
    assert result.regions == (Region.UNSPECIFIED,)


def test_code_without_a_system_is_matched_on_the_code_alone(knowledge):
    result = classify(knowledge, order(coded(None, "72148")))
    assert (result.modality, result.regions) == (Modality.MRI, (Region.LUMBAR,))


def test_a_single_coding_object_instead_of_a_list_is_tolerated(knowledge):
    result = classify(knowledge, order({"coding": {"system": CPT, "code": "72148"}}))
    assert result.modality is Modality.MRI


def test_knee_mri_73721_is_not_spinal_imaging(knowledge):
    assert classify_order(order(coded(CPT, "73721", "MRI knee without contrast")), knowledge) is None
    assert classify_order(order(coded(SNOMED, "241641004", "MRI of knee")), knowledge) is None


def test_chest_xray_is_not_spinal_imaging(knowledge):
    assert classify_order(order(coded(SNOMED, "399208008", "Plain X-ray of chest")), knowledge) is None
    assert classify_order(order({"text": "XR chest PA"}), knowledge) is None


def test_dxa_of_the_spine_is_bone_density_not_spinal_imaging(knowledge):
    assert classify_order(order(coded(SNOMED, "708690003", "DXA of spine")), knowledge) is None
    assert classify_order(order({"text": "DEXA scan lumbar spine and hips"}), knowledge) is None
    assert (
        classify_order(order({"text": "Bone density X-ray absorptiometry, lumbar spine"}), knowledge) is None
    )


def test_spinal_ultrasound_is_not_spinal_imaging(knowledge):
    assert (
        classify_order(order(coded(SNOMED, "432651001", "Ultrasonography of lumbar spine")), knowledge)
        is None
    )
    assert classify_order(order(coded(LOINC, "24926-8", "US Spine")), knowledge) is None
    assert classify_order(order({"text": "US lumbar spine"}), knowledge) is None


def test_ct_guided_spinal_injection_is_not_spinal_imaging(knowledge):
    assert classify_order(order({"text": "CT guided L4/5 facet joint injection"}), knowledge) is None
    assert (
        classify_order(order(coded(LOINC, "24986-2", "CT Guidance for biopsy of spine")), knowledge) is None
    )


def test_exclusion_wins_over_a_spinal_code_on_the_same_order(knowledge):
    both = {"coding": [{"system": CPT, "code": "72131"}, {"system": CPT, "code": "77012"}]}
    assert classify_order(order(both), knowledge) is None


def test_ct_and_xray_myelography_are_not_spinal_imaging_but_mr_myelography_is(knowledge):
    assert (
        classify_order(order(coded(SNOMED, "241592002", "CT myelogram of lumbar spine")), knowledge) is None
    )
    assert classify_order(order(coded(LOINC, "24965-6", "CT Lumbar spine W contrast IT")), knowledge) is None
    assert classify_order(order({"text": "Lumbar myelogram"}), knowledge) is None
    assert classify(knowledge, order({"text": "MR myelography"})).modality is Modality.MRI


def test_mri_of_the_cervix_is_not_cervical_spine_imaging(knowledge):
    assert classify_order(order({"text": "MRI pelvis cervical cancer staging"}), knowledge) is None


@pytest.mark.parametrize(
    "text",
    [
        "MRI brain T1 T2 FLAIR",
        "CT chest abdomen pelvis",
        "XR knee L",
        "MRI hip",
        "Lumbar puncture",
        "CT thorax",
    ],
)
def test_other_imaging_and_non_imaging_orders_are_not_spinal_imaging(knowledge, text):
    assert classify_order(order({"text": text}), knowledge) is None


@pytest.mark.parametrize(
    "code",
    [
        None,
        {},
        {"coding": [{}]},
        {"coding": []},
        {"coding": None},
        {"coding": [{"code": 72148}]},
        "MRI",
        [],
        42,
    ],
)
def test_orders_without_a_usable_code_or_text_are_not_classified(knowledge, code):
    assert classify_order(order(code), knowledge) is None


def test_only_service_requests_are_classified(knowledge):
    medication = {"resourceType": "MedicationRequest", "id": "m1", "code": coded(CPT, "72148")}
    assert classify_order(medication, knowledge) is None
    assert classify_order({"code": coded(CPT, "72148")}, knowledge) is None


def test_an_order_without_an_id_gets_a_stable_placeholder_reference(knowledge):
    first = classify(knowledge, order(coded(CPT, "72148"), id=None))
    again = classify(knowledge, order(coded(CPT, "72148"), id=None))
    other = classify(knowledge, order(coded(CPT, "72141"), id=None))
    assert first.reference.startswith("ServiceRequest/no-id-")
    assert first.reference == again.reference
    assert first.reference != other.reference


def test_the_raw_order_travels_with_the_classification(knowledge):
    resource = order(coded(CPT, "72148"), subject={"reference": "Patient/p1"})
    assert classify(knowledge, resource).resource is resource


def test_an_epic_style_oid_system_for_cpt_is_recognised(knowledge):
    result = classify(knowledge, order(coded("urn:oid:2.16.840.1.113883.6.12", "72148")))
    assert (result.modality, result.regions) == (Modality.MRI, (Region.LUMBAR,))


def test_a_generic_mri_code_with_the_lumbar_spine_as_body_site_is_spinal_mri(knowledge):
    resource = order(
        coded(SNOMED, "113091000", "Magnetic resonance imaging"),
        bodySite=[{"coding": [{"system": SNOMED, "code": "122496007", "display": "Lumbar spine structure"}]}],
    )
    result = classify(knowledge, resource)
    assert (result.modality, result.regions, result.matched_by) == (Modality.MRI, (Region.LUMBAR,), "text")
