"""CDS Hooks 2.0 response rules and the 3.0-ballot invariants (digest §1.5), as plain checks.

`hook_response_problems(body)` lists every rule a hook response breaks; the `app` fixture runs it on
every 200 answer of a hook endpoint the suite produces, and tests of HTTP-served responses can call
`assert_valid_hook_response` directly.
"""

from __future__ import annotations

from typing import Any

INDICATORS = {"info", "warning", "critical"}
SELECTION_BEHAVIORS = {"at-most-one", "any"}
ACTION_TYPES = {"create", "update", "delete"}
LINK_TYPES = {"absolute", "smart"}
CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def _empty_values(value: Any, path: str) -> list[str]:
    """Every null, "", [] or {} below `path` (the spec forbids them all)."""
    if value is None:
        return [f"{path} is null"]
    if isinstance(value, str):
        return [f'{path} is ""'] if value == "" else []
    if isinstance(value, list):
        if not value:
            return [f"{path} is []"]
        return [p for i, item in enumerate(value) for p in _empty_values(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        if not value:
            return [f"{path} is {{}}"]
        return [p for key, item in value.items() for p in _empty_values(item, f"{path}.{key}")]
    return []


def _coding_problems(coding: Any, path: str, *, display_required: bool) -> list[str]:
    if not isinstance(coding, dict):
        return [f"{path} is not an object"]
    problems = [f"{path}.{key} missing" for key in ("system", "code") if not isinstance(coding.get(key), str)]
    if display_required and not isinstance(coding.get("display"), str):
        problems.append(f"{path}.display missing (cds-resp-4)")
    return problems


def _action_problems(action: Any, path: str) -> list[str]:
    if not isinstance(action, dict):
        return [f"{path} is not an object"]
    problems = []
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        problems.append(f"{path}.type {kind!r} not create|update|delete")
    if not isinstance(action.get("description"), str):
        problems.append(f"{path}.description missing (cds-resp-5)")
    resource = action.get("resource")
    if kind == "delete":
        if "resource" in action:
            problems.append(f"{path}: delete uses resourceId, not resource (cds-resp-2)")
        if not isinstance(action.get("resourceId"), str):
            problems.append(f"{path}: delete needs resourceId")
    elif kind in ("create", "update") and not (
        isinstance(resource, dict) and isinstance(resource.get("resourceType"), str)
    ):
        problems.append(f"{path}: {kind} needs a FHIR resource")
    return problems


def _card_problems(card: Any, path: str) -> list[str]:
    if not isinstance(card, dict):
        return [f"{path} is not an object"]
    problems = [f"{path}.{key} is not a card field" for key in card if key not in CARD_FIELDS]
    summary = card.get("summary")
    if not isinstance(summary, str):
        problems.append(f"{path}.summary missing")
    elif len(summary) >= 140:
        problems.append(f"{path}.summary is {len(summary)} chars (must be < 140)")
    if card.get("indicator") not in INDICATORS:
        problems.append(f"{path}.indicator {card.get('indicator')!r} not info|warning|critical")
    source = card.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("label"), str):
        problems.append(f"{path}.source.label missing")
    elif "topic" in source:
        problems += _coding_problems(source["topic"], f"{path}.source.topic", display_required=False)
    if "detail" in card and not isinstance(card["detail"], str):
        problems.append(f"{path}.detail is not markdown text")
    suggestions = card.get("suggestions")
    if suggestions is not None:
        behavior = card.get("selectionBehavior")
        if behavior not in SELECTION_BEHAVIORS:
            problems.append(f"{path}.selectionBehavior {behavior!r} with suggestions (cds-resp-6)")
        if not isinstance(suggestions, list):
            problems.append(f"{path}.suggestions is not a list")
            suggestions = []
        recommended = sum(1 for s in suggestions if isinstance(s, dict) and s.get("isRecommended") is True)
        if behavior == "at-most-one" and recommended > 1:
            problems.append(f"{path}: {recommended} recommended suggestions with at-most-one (cds-resp-1)")
        for i, suggestion in enumerate(suggestions):
            where = f"{path}.suggestions[{i}]"
            if not isinstance(suggestion, dict) or not isinstance(suggestion.get("label"), str):
                problems.append(f"{where}.label missing")
                continue
            for j, action in enumerate(suggestion.get("actions") or []):
                problems += _action_problems(action, f"{where}.actions[{j}]")
    for i, reason in enumerate(card.get("overrideReasons") or []):
        problems += _coding_problems(reason, f"{path}.overrideReasons[{i}]", display_required=True)
    for i, link in enumerate(card.get("links") or []):
        where = f"{path}.links[{i}]"
        if not isinstance(link, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [
            f"{where}.{key} missing" for key in ("label", "url") if not isinstance(link.get(key), str)
        ]
        if link.get("type") not in LINK_TYPES:
            problems.append(f"{where}.type {link.get('type')!r} not absolute|smart")
        if "appContext" in link and link.get("type") != "smart":
            problems.append(f"{where}.appContext on a non-smart link (cds-resp-3)")
    return problems


def hook_response_problems(body: Any) -> list[str]:
    """Every CDS Hooks rule the response body breaks; empty when it conforms."""
    if not isinstance(body, dict):
        return ["response is not a JSON object"]
    problems = [
        f"{key} is not a response field" for key in body if key not in ("cards", "systemActions", "extension")
    ]
    cards = body.get("cards")
    if not isinstance(cards, list):
        return [*problems, "cards missing (REQUIRED, [] when there is no advice)"]
    for i, card in enumerate(cards):
        problems += _empty_values(card, f"cards[{i}]")
        problems += _card_problems(card, f"cards[{i}]")
    for key in ("systemActions", "extension"):
        if key in body:
            problems += _empty_values(body[key], key)
    for i, action in enumerate(body.get("systemActions") or []):
        problems += _action_problems(action, f"systemActions[{i}]")
    if "extension" in body and not isinstance(body["extension"], dict):
        problems.append("extension is not an object")
    card_uuids = [c.get("uuid") for c in cards if isinstance(c, dict) and "uuid" in c]
    if len(card_uuids) != len(set(card_uuids)):
        problems.append("card uuids are not unique")
    return problems


def discovery_problems(body: Any) -> list[str]:
    """Every discovery rule the body breaks (hook, id, description required; no empty values)."""
    if not isinstance(body, dict) or not isinstance(body.get("services"), list):
        return ["services missing"]
    problems = _empty_values(body["services"], "services") if body["services"] else []
    for i, service in enumerate(body["services"]):
        for key in ("hook", "id", "description"):
            if not isinstance(service.get(key), str):
                problems.append(f"services[{i}].{key} missing")
    return problems


def assert_valid_hook_response(body: Any) -> None:
    """Fail with every broken rule listed when the hook response does not conform."""
    problems = hook_response_problems(body)
    assert not problems, "CDS Hooks response breaks the spec:\n  " + "\n  ".join(problems)
