"""Cards of different patients share one rendering of their wording, and never each other's record text."""

from __future__ import annotations

from dataclasses import replace

import pytest
from jinja2 import TemplateError

from cds_service import Settings
from cds_service.cards import build_card
from cds_service.cards.filling import MarkedText, RecordTexts
from cds_service.cards.render import card_facts, suggested_words
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Evidence, Modality, Pathway
from tests.card_decisions import decision, imaging_order

KNOWLEDGE = load_knowledge()
LOUD = Settings(auth="off", quiet_when_supported=False)


def test_two_patients_with_the_same_findings_each_see_their_own_evidence_and_order() -> None:
    first = decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY, what="Breast cancer & metastases")
    second = replace(
        decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY, what="Myeloma <stage 2>"),
        order=imaging_order(Modality.XRAY, order_id="xr-9"),
    )
    cards = [build_card(d, knowledge=KNOWLEDGE, settings=LOUD, hook="order-select") for d in (first, second)]
    one, two = (card.detail or "" for card in cards if card is not None)
    assert "Breast cancer &amp; metastases" in one and "Myeloma" not in one
    assert "Myeloma &lt;stage 2&gt;" in two and "Breast cancer" not in two
    updates = [
        card.suggestions[0].actions[0]
        for card in cards
        if card and card.suggestions and card.suggestions[0].actions
    ]
    assert [u.description.split()[1] for u in updates] == ["ServiceRequest/mri-1", "ServiceRequest/xr-9"]


def test_an_action_names_the_order_it_acts_on_when_another_patient_had_the_same_card() -> None:
    for order_id in ("mri-1", "mri-2"):
        d = replace(decision(Pathway.IMAGING_NOT_INDICATED), order=imaging_order(order_id=order_id))
        card = build_card(d, knowledge=KNOWLEDGE, settings=LOUD, hook="order-select")
        assert card is not None and card.suggestions
        cancel = card.suggestions[0].actions or []
        assert cancel[0].description.startswith(f"Cancel the draft order ServiceRequest/{order_id} ")


def test_the_facts_a_card_rendering_is_kept_for_hold_no_record_text() -> None:
    deceased = Evidence(
        "Patient/p1", "The record says the patient died on 2024-01-02", None, "2024-01-02", "patient"
    )
    d = replace(
        decision(Pathway.URGENT_MRI_SUSPECTED_CANCER, Modality.XRAY, what="Plasmacytoma of L3"),
        not_checked=("the guideline's evidence is for adults; the patient is 17",),
        deceased=deceased,
    )
    texts = RecordTexts()
    facts = card_facts(
        d, KNOWLEDGE, hook="order-select", suggested=suggested_words(d.order.regions), texts=texts
    )
    kept = repr(facts)
    for record_text in ("Plasmacytoma", "2019-05-02", "Condition/c1", "mri-1", "patient is 17", "2024-01-02"):
        assert record_text not in kept
    assert any("Plasmacytoma" in value for value in texts.values)


def test_a_template_that_cuts_record_text_is_refused_rather_than_showing_a_fragment() -> None:
    texts = RecordTexts()
    cut = f"Order {texts.marker('ServiceRequest/abc')[:2]}"
    with pytest.raises(TemplateError):
        MarkedText.of(cut)
