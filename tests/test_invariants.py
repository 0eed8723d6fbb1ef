"""The spec checker run on every hook answer catches each rule it claims to check."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.invariants import discovery_problems, hook_response_problems

GOOD: dict[str, Any] = {
    "cards": [
        {
            "uuid": "c1",
            "summary": "Imaging is rarely indicated for back pain without red flags",
            "indicator": "warning",
            "source": {"label": "BNSSG Remedy", "url": "https://example.org/guideline"},
            "detail": "No red flags were found.",
            "selectionBehavior": "at-most-one",
            "suggestions": [
                {
                    "label": "Cancel the MRI",
                    "uuid": "s1",
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "delete",
                            "description": "Cancel the order",
                            "resourceId": "ServiceRequest/1",
                        }
                    ],
                },
                {"label": "Keep the MRI", "uuid": "s2"},
            ],
            "overrideReasons": [
                {"system": "https://example.org/cs", "code": "specialist", "display": "Specialist"}
            ],
            "links": [{"label": "Guideline", "url": "https://example.org", "type": "absolute"}],
        }
    ],
    "systemActions": [
        {
            "type": "update",
            "description": "Decision",
            "resource": {"resourceType": "ServiceRequest", "id": "1"},
        }
    ],
}


def broken(change: str) -> list[str]:
    body = copy.deepcopy(GOOD)
    card = body["cards"][0]
    match change:
        case "summary 140":
            card["summary"] = "x" * 140
        case "indicator":
            card["indicator"] = "hard-stop"
        case "source label":
            del card["source"]["label"]
        case "null":
            card["detail"] = None
        case "empty string":
            card["detail"] = ""
        case "empty list":
            card["links"] = []
        case "selectionBehavior":
            del card["selectionBehavior"]
        case "two recommended":
            card["suggestions"][1]["isRecommended"] = True
        case "delete with resource":
            card["suggestions"][0]["actions"][0]["resource"] = {"resourceType": "ServiceRequest"}
        case "action description":
            del body["systemActions"][0]["description"]
        case "override display":
            del card["overrideReasons"][0]["display"]
        case "appContext on absolute":
            card["links"][0]["appContext"] = "x"
        case "link type":
            card["links"][0]["type"] = "web"
        case "cards missing":
            del body["cards"]
        case "duplicate uuid":
            body["cards"].append(copy.deepcopy(card))
    return hook_response_problems(body)


def test_a_conforming_response_has_no_problems() -> None:
    assert hook_response_problems(GOOD) == []
    assert hook_response_problems({"cards": []}) == []


@pytest.mark.parametrize(
    "change",
    [
        "summary 140",
        "indicator",
        "source label",
        "null",
        "empty string",
        "empty list",
        "selectionBehavior",
        "two recommended",
        "delete with resource",
        "action description",
        "override display",
        "appContext on absolute",
        "link type",
        "cards missing",
        "duplicate uuid",
    ],
)
def test_each_broken_rule_is_reported(change: str) -> None:
    assert broken(change), change


def test_discovery_without_description_is_reported() -> None:
    assert discovery_problems({"services": [{"hook": "order-select", "id": "x"}]})
    assert discovery_problems({"services": []}) == []
