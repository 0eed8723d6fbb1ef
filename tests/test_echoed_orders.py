"""What the service echoes back of the client's draft order carries no null, empty or non-finite value.

The order comes back in the decision's systemAction and in the card's suggestions. The lenient
parser reads NaN and Infinity (not JSON); written back they would be null, which CDS Hooks forbids.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.fhir.record import pruned
from tests.fuzzing import examples
from tests.hook_requests import MRI_LUMBAR, SELECT_URL, hook_call
from tests.invariants import hook_response_problems

# Any parsed JSON, keys of any text (empty, non-ASCII, lone surrogates) and NaN / +-Infinity included.
any_keys = st.text(max_size=6)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
parsed_json = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_keys, children, max_size=4),
    max_leaves=25,
)


def empty_or_non_finite(value: Any, path: str = "") -> list[str]:
    """Where `value` holds null, "", [], {}, NaN or an infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path} is {value}"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empty_or_non_finite(item, f"{path}.{key}")] or (
            [] if value else [f"{path} is {{}}"]
        )
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in empty_or_non_finite(item, f"{path}[{i}]")] or (
            [] if value else [f"{path} is []"]
        )
    return [f"{path} is {value!r}"] if value is None or value == "" else []


@given(order=st.dictionaries(any_keys, parsed_json, max_size=6))
@settings(max_examples=examples(300), deadline=None)
def test_a_pruned_order_has_no_empty_or_non_finite_value_at_any_depth(order: dict[str, Any]) -> None:
    kept = pruned(order)
    assert kept == {} or not empty_or_non_finite(kept)


def test_pruning_keeps_every_real_value() -> None:
    order = {"id": "a", "n": 0, "f": 1.5, "b": False, "s": " ", "x": {"": [0, {"ü\ud800": True}]}}
    assert pruned(order) == order


def ordered(**fields: Any) -> dict[str, Any]:
    """A selected lumbar MRI of the sample patient, with odd fields as a client may send them."""
    return {"resourceType": "ServiceRequest", "id": "picked", "code": {"coding": [MRI_LUMBAR]}, **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": math.inf},
        {"bodySite": {"coding": [{"code": "x"}, math.nan]}},
        {"note": [{"text": -math.inf}]},
        {"intent": ""},
        {"reasonCode": [None, {}, {"text": ""}]},
        {"extension": [{"url": "", "valueString": None}]},
    ],
    ids=[
        "infinite-subject",
        "nan-in-body-site",
        "minus-infinity-note",
        "empty-intent",
        "empty-reasons",
        "empty-extension",
    ],
)
def test_odd_values_in_the_selected_order_are_not_echoed_back(
    client: FlaskClient, fields: dict[str, Any]
) -> None:
    # json.dumps writes NaN and Infinity as such (not JSON): what a careless client sends.
    body = json.dumps(hook_call([ordered(**fields)]))
    response = client.post(SELECT_URL, data=body, content_type="application/json")
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["systemActions"], "the decision is still recorded on the order"
    assert hook_response_problems(answer) == []
    assert "NaN" not in response.get_data(as_text=True)
    echoed = [answer["systemActions"][0]["resource"]] + [
        action["resource"]
        for card in answer["cards"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion.get("actions", [])
        if "resource" in action
    ]
    for resource in echoed:
        assert not empty_or_non_finite(resource)
