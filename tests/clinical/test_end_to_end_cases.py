"""GP vignettes sent through the HTTP service as an EHR sends them, read as the GP would read them.

Each test is one consultation: the record (problem list, prescriptions, observations), the draft
order(s), the hook, and what must come back: the pathway on the order (the decision systemAction),
the card's indicator, what its summary and detail tell the GP, the buttons, the evidence with its
dates, the questions to ask and what could not be checked.
"""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from cds_service import Settings, create_app
from tests.clinical.ehr_records import (
    blood_pressure,
    crp,
    day,
    ehr_call,
    gp_patient,
    imaging_order,
    measurement,
    prescription,
    problem,
    temperature,
)
from tests.clinical.hook_answers import actions, ask, labels, targets
from tests.hook_requests import SELECT_URL

ICD10 = "http://hl7.org/fhir/sid/icd-10"
MRI_LUMBAR = ("72148", "MRI lumbar spine without contrast")
MRI_THORACIC = ("72146", "MRI thoracic spine without contrast")
XRAY_LUMBAR = ("72100", "X-ray lumbar spine 2 or 3 views")
XRAY_CERVICAL = ("72040", "X-ray cervical spine 2 or 3 views")
CT_LUMBAR = ("72131", "CT lumbar spine without contrast")
LOW_BACK_PAIN = problem("279039007", "Low back pain", onset_days=21)


# Emergency department


def test_saddle_numbness_and_retention_after_lifting_goes_to_the_emergency_department(
    client: FlaskClient, settings: Settings
) -> None:
    """38-year-old woman, low back pain after lifting, now retention and saddle numbness; MRI ordered."""
    retention = problem("267064002", "Retention of urine", onset_days=1)
    order = imaging_order(*MRI_LUMBAR, note="bilateral sciatica, numbness in the saddle area since yesterday")
    answer = ask(client, settings, ehr_call(gp_patient(38, "female"), [LOW_BACK_PAIN, retention], [order]))
    assert answer.pathway() == "emergency-department"
    assert {"saddle-anaesthesia", "bladder-or-bowel-dysfunction"} <= set(
        answer.decisions["img-1"]["redFlags"]
    )
    card = answer.only_card()
    assert card["indicator"] == "critical"
    assert "emergency department" in card["summary"]
    assert "emergency department now" in card["detail"]
    assert "cauda equina" in card["detail"].lower()
    assert day(1) in card["detail"]  # the retention's date is shown with it
    assert [a["type"] for a in actions(card)] == ["delete"]
    assert actions(card)[0]["resourceId"] == "ServiceRequest/img-1"


def test_lung_cancer_with_new_leg_weakness_is_suspected_mscc_for_the_emergency_department(
    client: FlaskClient, settings: Settings
) -> None:
    cancer = problem("254637007", "Non-small cell lung cancer", onset_days=400, clinical="remission")
    weakness = problem("26544005", "Muscle weakness", onset_days=4)
    order = imaging_order(*MRI_THORACIC, reasons=(("3368006", "Dorsalgia"),))
    answer = ask(client, settings, ehr_call(gp_patient(66, "male"), [cancer, weakness], [order]))
    assert answer.pathway() == "emergency-department"
    assert answer.only_card()["indicator"] == "critical"


def test_febrile_hypotensive_man_with_back_pain_goes_to_the_emergency_department_not_ct(
    client: FlaskClient, settings: Settings
) -> None:
    """Temperature 39.2 and systolic 84 today: possible spinal infection in an unwell patient."""
    record = [LOW_BACK_PAIN, temperature(39.2, 0), blood_pressure(84, 50)]
    answer = ask(client, settings, ehr_call(gp_patient(61, "male"), record, [imaging_order(*CT_LUMBAR)]))
    assert answer.pathway() == "emergency-department"
    card = answer.only_card()
    assert card["indicator"] == "critical"
    assert "do not book outpatient CT" in card["summary"]
    assert "Systolic blood pressure 84" in card["detail"]


def test_heart_rate_of_136_without_fever_still_goes_to_the_emergency_department(
    client: FlaskClient, settings: Settings
) -> None:
    """NICE NG51 high-risk sign with new back pain at 74: emergency assessment, whatever the cause."""
    record = [LOW_BACK_PAIN, measurement("8867-4", "Heart rate", 136, "/min", days_before=0)]
    answer = ask(client, settings, ehr_call(gp_patient(74, "male"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "emergency-department"
    assert "Heart rate 136" in answer.only_card()["detail"]


def test_cervical_xray_after_a_fall_at_seventy_goes_to_the_emergency_department_for_ct(
    client: FlaskClient, settings: Settings
) -> None:
    """Canadian C-spine rule: 65 or over after neck injury is high risk; CT in the ED, not a film."""
    fall = problem("1912002", "Fall", onset_days=1)
    neck = problem("81680005", "Neck pain", onset_days=1)
    order = imaging_order(
        *XRAY_CERVICAL, reasons=(("81680005", "Neck pain"),), note="fell on stairs yesterday"
    )
    answer = ask(client, settings, ehr_call(gp_patient(70, "female"), [fall, neck], [order]))
    assert answer.pathway() == "emergency-department"
    assert "trauma" in answer.decisions["img-1"]["redFlags"]
    card = answer.only_card()
    assert card["indicator"] == "critical"
    assert "CT in the emergency department" in card["detail"]


# Suspected cancer


def test_prostate_cancer_years_ago_with_an_xray_ordered_is_told_to_book_mri_stating_cancer(
    client: FlaskClient, settings: Settings
) -> None:
    cancer = problem(
        "C61", "Malignant neoplasm of prostate", onset_days=2900, clinical="resolved", system=ICD10
    )
    order = imaging_order(*XRAY_LUMBAR)
    answer = ask(client, settings, ehr_call(gp_patient(71, "male"), [LOW_BACK_PAIN, cancer], [order]))
    assert answer.pathway() == "urgent-mri-suspected-cancer"
    assert answer.decisions["img-1"]["rating"] == "not-appropriate"
    card = answer.only_card()
    assert card["indicator"] == "warning"
    assert "cannot exclude metastases" in card["summary"]
    assert "stating suspected cancer" in card["detail"]
    assert day(2900) in card["detail"]
    update = next(a for a in actions(card) if a["type"] == "update")
    assert update["resource"]["id"] == "img-1"
    assert "MRI" in str(update["resource"]["code"])


def test_breast_cancer_in_remission_with_thoracic_pain_on_mri_is_asked_to_state_suspected_cancer(
    client: FlaskClient, settings: Settings
) -> None:
    cancer = problem("254837009", "Malignant neoplasm of breast", onset_days=2200, clinical="remission")
    thoracic = problem("3368006", "Dorsalgia", onset_days=50)
    order = imaging_order(*MRI_THORACIC, reasons=(("3368006", "Dorsalgia"),))
    answer = ask(client, settings, ehr_call(gp_patient(58, "female"), [cancer, thoracic], [order]))
    assert answer.pathway() == "urgent-mri-suspected-cancer"
    card = answer.only_card()
    assert card["indicator"] == "info"
    assert "suspected cancer" in card["summary"]
    assert "urgent" in card["summary"]
    update = actions(card)[0]
    assert update["type"] == "update" and update["resource"]["priority"] in {"urgent", "asap"}


# Suspected infection


def test_injecting_drug_user_with_fever_on_mri_is_asked_for_wcc_and_crp(
    client: FlaskClient, settings: Settings
) -> None:
    ivdu = problem("228388006", "Intravenous drug user", onset_days=1500)
    record = [LOW_BACK_PAIN, ivdu, temperature(38.7, 1)]
    answer = ask(client, settings, ehr_call(gp_patient(34, "male"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "mri-with-infection-bloods"
    card = answer.only_card()
    assert card["indicator"] == "info"
    assert "WCC and CRP" in card["summary"]
    assert "Temperature 38.7" in card["detail"]
    created = [a["resource"] for a in actions(card) if a["type"] == "create"]
    texts = " ".join(str(r["code"]) for r in created)
    assert "reactive protein" in texts.lower() or "CRP" in texts
    assert all(r["subject"] == {"reference": "Patient/pat-lbp-49"} for r in created)


def test_fever_alone_with_an_xray_ordered_is_changed_to_mri_and_bloods(
    client: FlaskClient, settings: Settings
) -> None:
    """A febrile back is suspected infection: a plain film cannot exclude it."""
    record = [LOW_BACK_PAIN, temperature(38.4, 2)]
    answer = ask(client, settings, ehr_call(gp_patient(47, "female"), record, [imaging_order(*XRAY_LUMBAR)]))
    assert answer.pathway() == "mri-with-infection-bloods"
    card = answer.only_card()
    assert card["indicator"] == "warning"
    assert "MRI" in card["summary"] and "WCC and CRP" in card["summary"]
    assert {a["type"] for a in actions(card)} == {"update", "create"}


def test_recent_raised_crp_on_record_is_shown_and_not_requested_again(
    client: FlaskClient, settings: Settings
) -> None:
    record = [LOW_BACK_PAIN, crp(64, 2), temperature(38.1, 2)]
    answer = ask(client, settings, ehr_call(gp_patient(52, "male"), record, [imaging_order(*XRAY_LUMBAR)]))
    assert answer.pathway() == "mri-with-infection-bloods"
    card = answer.only_card()
    assert "CRP 64" in card["detail"] and day(2) in card["detail"]
    assert [a["type"] for a in actions(card)] == ["update"]


# Suspected osteoporotic fracture


def test_osteoporotic_woman_of_78_after_a_fall_gets_a_quiet_xray_rated_appropriate(
    client: FlaskClient, settings: Settings
) -> None:
    osteoporosis = problem("64859006", "Osteoporosis", onset_days=1800)
    fall = problem("1912002", "Fall", onset_days=5)
    alendronate = prescription("Alendronic acid 70mg tablets", dose="one tablet weekly", started_days=200)
    record = [LOW_BACK_PAIN, osteoporosis, fall, alendronate]
    answer = ask(client, settings, ehr_call(gp_patient(78, "female"), record, [imaging_order(*XRAY_LUMBAR)]))
    assert answer.pathway() == "xray-suspected-fracture"
    assert answer.decisions["img-1"]["rating"] == "appropriate"
    assert answer.cards == []  # the right test, nothing to add: no interruption


def test_long_term_prednisolone_with_an_mri_ordered_is_offered_an_xray_first(
    client: FlaskClient, settings: Settings
) -> None:
    pred = prescription("Prednisolone 5mg tablets", code="312617", started_days=400, valid_days=420)
    record = [LOW_BACK_PAIN, pred]
    answer = ask(client, settings, ehr_call(gp_patient(69, "female"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "xray-suspected-fracture"
    card = answer.only_card()
    assert card["indicator"] == "warning"
    assert "X-ray" in card["summary"]
    assert "Prednisolone" in card["detail"]
    assert [a["type"] for a in actions(card)] == ["update"]


# Specialist pathway


def test_sciatica_for_four_months_with_leg_weakness_is_sent_to_the_msk_pathway(
    client: FlaskClient, settings: Settings
) -> None:
    sciatica = problem("23056005", "Sciatica", onset_days=120)
    weakness = problem("26544005", "Muscle weakness", onset_days=14)
    record = [sciatica, weakness]
    answer = ask(client, settings, ehr_call(gp_patient(44, "male"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "specialist-pathway"
    card = answer.only_card()
    assert card["indicator"] == "warning"
    assert "MSK" in card["summary"]
    assert any("physiotherapy" in label.lower() for label in labels(card))


def test_young_man_with_ankylosing_spondylitis_is_sent_to_rheumatology_not_physiotherapy(
    client: FlaskClient, settings: Settings
) -> None:
    spondylitis = problem("M45", "Ankylosing spondylitis", onset_days=900, system=ICD10)
    record = [LOW_BACK_PAIN, spondylitis]
    answer = ask(client, settings, ehr_call(gp_patient(28, "male"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "specialist-pathway"
    card = answer.only_card()
    assert "rheumatology" in card["summary"]
    assert not any("physiotherapy" in label.lower() for label in labels(card))


# Imaging may be appropriate


def test_new_back_pain_at_sixty_with_weight_loss_has_mri_supported_quietly(
    client: FlaskClient, settings: Settings
) -> None:
    weights = [
        measurement("29463-7", "Body weight", 82.0, "kg", days_before=200),
        measurement("29463-7", "Body weight", 75.5, "kg", days_before=3),
    ]
    record = [problem("279039007", "Low back pain", onset_days=14), *weights]
    answer = ask(client, settings, ehr_call(gp_patient(60, "male"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "imaging-may-be-appropriate"
    assert {"weight-loss", "new-onset-over-55"} <= set(answer.decisions["img-1"]["redFlags"])
    assert answer.decisions["img-1"]["rating"] == "appropriate"
    assert answer.cards == []


def test_when_shown_the_supported_card_lists_the_flags_with_dates(tmp_path: Path) -> None:
    settings = Settings(
        auth="off", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", quiet_when_supported=False
    )
    client = create_app(settings).test_client()
    weights = [
        measurement("29463-7", "Body weight", 82.0, "kg", days_before=200),
        measurement("29463-7", "Body weight", 75.5, "kg", days_before=3),
    ]
    record = [problem("279039007", "Low back pain", onset_days=14), *weights]
    answer = ask(client, settings, ehr_call(gp_patient(60, "male"), record, [imaging_order(*MRI_LUMBAR)]))
    card = answer.only_card()
    assert card["indicator"] == "info"
    # Issue 9 item 2: the first line names what the flags point at.
    assert card["summary"].startswith("Possible spinal malignancy:")
    assert "75.5 kg" in card["detail"] and day(3) in card["detail"]


# Imaging not indicated


def test_mechanical_back_pain_for_three_weeks_at_35_gets_cancel_and_physiotherapy(
    client: FlaskClient, settings: Settings
) -> None:
    record = [LOW_BACK_PAIN, prescription("Naproxen 500mg tablets", dose="one tablet twice daily")]
    answer = ask(client, settings, ehr_call(gp_patient(35, "female"), record, [imaging_order(*MRI_LUMBAR)]))
    assert answer.pathway() == "imaging-not-indicated"
    assert answer.decisions["img-1"]["rating"] == "not-appropriate"
    card = answer.only_card()
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("No red flags found in the record")
    assert "incidental" in card["detail"] and "NG59" in card["detail"]
    assert "normal part of ageing" in card["detail"]
    assert "Any numbness in the saddle area" in card["detail"]  # asked, never assumed absent
    assert "night" in card["detail"]
    assert [a["type"] for a in actions(card)] == ["delete", "delete", "create"]
    assert any("physiotherapy" in label.lower() for label in labels(card))


def test_thoracic_mri_at_45_for_persistent_thoracic_pain_only_is_not_indicated_but_asks(
    client: FlaskClient, settings: Settings
) -> None:
    """One weak red flag: 'the presence of one red flag does not necessarily trigger imaging'."""
    thoracic = problem("426135001", "Chronic thoracic back pain", onset_days=150)
    order = imaging_order(*MRI_THORACIC, reasons=(("426135001", "Chronic thoracic back pain"),))
    answer = ask(client, settings, ehr_call(gp_patient(45, "male"), [thoracic], [order]))
    assert answer.pathway() == "imaging-not-indicated"
    assert answer.decisions["img-1"]["redFlags"] == ["thoracic-pain"]
    card = answer.only_card()
    assert "One red flag" in card["summary"]
    assert "Persistent thoracic pain" in card["detail"] or "thoracic" in card["detail"].lower()
    assert "weight loss" in card["detail"].lower()  # no weight series: asked


def test_ct_for_back_pain_with_refuted_cancer_and_topical_steroid_is_not_indicated(
    client: FlaskClient, settings: Settings
) -> None:
    refuted = problem("399068003", "Malignant tumor of prostate", onset_days=300, verification="refuted")
    mistake = problem("192970008", "Cauda equina syndrome", onset_days=2, verification="entered-in-error")
    cream = prescription(
        "Hydrocortisone 1% cream", dose="apply thinly twice daily", route=("6064005", "Topical route")
    )
    old_course = prescription("Prednisolone 5mg tablets", started_days=2000, valid_days=5, status="completed")
    record = [LOW_BACK_PAIN, refuted, mistake, cream, old_course]
    answer = ask(client, settings, ehr_call(gp_patient(50, "male"), record, [imaging_order(*CT_LUMBAR)]))
    assert answer.pathway() == "imaging-not-indicated"
    assert answer.decisions["img-1"]["redFlags"] == []


# Missing data


def test_no_medication_keys_and_no_fhir_server_says_medications_could_not_be_checked(
    client: FlaskClient, settings: Settings
) -> None:
    call = ehr_call(
        gp_patient(35, "female"),
        [LOW_BACK_PAIN],
        [imaging_order(*MRI_LUMBAR)],
        missing=("medicationRequests", "medicationStatements"),
    )
    answer = ask(client, settings, call)
    assert answer.pathway() == "imaging-not-indicated"
    card = answer.only_card()
    assert "medications" in card["detail"] and "could not be read" in card["detail"]
    assert "Could not be checked" in card["detail"]
    assert not card["summary"].startswith("No red flags found")
    assert "not an all-clear" in card["detail"]


def test_no_patient_and_no_problem_list_and_no_fhir_server_is_a_412(client: FlaskClient) -> None:
    call = ehr_call(None, [], [imaging_order(*MRI_LUMBAR)], missing=("patient", "conditions"))
    response = client.post(SELECT_URL, json=call)
    assert response.status_code == 412
    assert response.get_json()["resourceType"] == "OperationOutcome"


# Several orders, and the record itself


def test_order_sign_with_three_orders_gives_each_spinal_order_its_own_card_and_decision(
    client: FlaskClient, settings: Settings
) -> None:
    """Breast cancer history; lumbar X-ray, thoracic MRI and a knee MRI signed together."""
    cancer = problem("254837009", "Malignant neoplasm of breast", onset_days=1500, clinical="resolved")
    orders = [
        imaging_order(*XRAY_LUMBAR, order_id="xr-lumbar"),
        imaging_order(*MRI_THORACIC, order_id="mri-thoracic"),
        imaging_order("73721", "MRI lower extremity joint without contrast", order_id="mri-knee"),
    ]
    call = ehr_call(gp_patient(63, "female"), [LOW_BACK_PAIN, cancer], orders, hook="order-sign")
    answer = ask(client, settings, call)
    assert set(answer.decisions) == {"xr-lumbar", "mri-thoracic"}
    assert answer.pathway("xr-lumbar") == answer.pathway("mri-thoracic") == "urgent-mri-suspected-cancer"
    xray, mri = answer.card("xr-lumbar"), answer.card("mri-thoracic")
    assert xray is not None and mri is not None and len(answer.cards) == 2
    assert xray["indicator"] == "warning" and mri["indicator"] == "info"
    assert targets(xray) == {"xr-lumbar"}
    assert targets(mri) == {"mri-thoracic"}


def test_order_for_a_patient_the_record_says_has_died_warns_to_check_the_patient(
    client: FlaskClient, settings: Settings
) -> None:
    """A decision is still made, but the GP is told first that the record says the patient died."""
    who = gp_patient(81, "male", deceasedDateTime=f"{day(40)}T03:00:00+00:00")
    osteoporosis = problem("64859006", "Osteoporosis", onset_days=1800)
    answer = ask(
        client, settings, ehr_call(who, [LOW_BACK_PAIN, osteoporosis], [imaging_order(*XRAY_LUMBAR)])
    )
    assert answer.pathway() == "xray-suspected-fracture"
    card = answer.only_card()  # a supported X-ray is normally quiet; not for a deceased patient
    assert card["indicator"] == "warning"
    assert "died" in card["summary"] and "right patient" in card["summary"]
    assert day(40) in card["detail"]
