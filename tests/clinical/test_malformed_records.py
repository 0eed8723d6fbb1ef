"""Real clients send odd shapes: the engine must still decide (never crash into a 500)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.rules.model import Pathway
from tests.clinical.builders import condition, decision_for, imaging_order, medication, observation, record

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

FIELDS = {
    "Condition": [
        "code",
        "clinicalStatus",
        "verificationStatus",
        "onsetDateTime",
        "onsetPeriod",
        "recordedDate",
    ],
    "MedicationRequest": [
        "medicationCodeableConcept",
        "status",
        "authoredOn",
        "dosageInstruction",
        "dispenseRequest",
        "medicationReference",
    ],
    "Observation": ["code", "valueQuantity", "effectiveDateTime", "component", "status", "effectivePeriod"],
}


def damaged(resource: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    out = dict(resource)
    out[field] = value
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(FIELDS)),
    data=st.data(),
    value=junk,
    order_junk=junk,
)
def test_damaged_resources_and_orders_still_get_a_decision(kind, data, value, order_junk):
    field = data.draw(st.sampled_from(FIELDS[kind]))
    base = {
        "Condition": condition("64859006", "Osteoporosis (disorder)"),
        "MedicationRequest": medication("105586", "Methotrexate 10 MG Oral Tablet"),
        "Observation": observation("55284-4", 120, "mm[Hg]"),
    }[kind]
    order = imaging_order()
    order.resource.update({"reasonCode": order_junk, "note": order_junk, "reasonReference": order_junk})
    decision = decision_for(record(damaged(base, field, value)), order)
    assert decision.pathway in set(Pathway)


def test_systolic_panel_with_a_string_component_is_ignored():
    panel = observation("55284-4", 0, "mm[Hg]")
    panel.pop("valueQuantity")
    panel["component"] = ["systolic 80"]
    assert decision_for(record(panel)).pathway == Pathway.IMAGING_NOT_INDICATED
