"""`spine-cds evaluate FILE`: run one sample or CDS Hooks request through the service, in process.

The request goes through the real Flask app (auth off, a throwaway decision log) with Flask's test
client, so what is printed is exactly what an EHR would receive, laid out for a clinician.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from cds_service.app import create_app
from cds_service.cards.decision_extension import read_decision
from cds_service.cards.templating import labels
from cds_service.samples import SampleError, load_sample, service_id_for
from cds_service.settings import Settings

_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#|~!])")


def register(sub: Any) -> None:
    """Add the `evaluate` sub-command."""
    parser = sub.add_parser(
        "evaluate",
        help="run a sample bundle or a CDS Hooks request through the service and print the advice",
    )
    parser.add_argument(
        "file", type=Path, help="a sample Bundle (sample_bundles/) or a CDS Hooks request JSON"
    )
    parser.add_argument(
        "--hook", choices=("order-select", "order-sign"), help="hook to call (default order-select)"
    )
    parser.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")
    parser.set_defaults(run=run)


def call_in_process(request: dict[str, Any], settings: Settings) -> tuple[int, Any]:
    """POST the request to the service through the real app; (status, JSON body).

    Nothing is served: the app says nothing about exposure (auth off is this run's own choice).
    """
    client = create_app(settings, announce=False).test_client()
    response = client.post(f"/cds-services/{service_id_for(request)}", json=request)
    return response.status_code, response.get_json(silent=True)


def _plain(markdown: str) -> str:
    """Card markdown as terminal text: HTML entities and markdown escapes undone."""
    return _MARKDOWN_ESCAPE.sub(r"\1", html.unescape(markdown))


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def _order_lines(order: dict[str, Any], decision: dict[str, Any] | None) -> list[str]:
    code = order.get("code") or {}
    name = code.get("text") or ", ".join(
        str(c.get("display") or c.get("code")) for c in code.get("coding") or []
    )
    lines = [f"Order     ServiceRequest/{order.get('id')}: {name}"]
    if decision is None:
        return [*lines, "Decision  none (not spinal imaging)"]
    flag_names = labels()["red_flags"]
    lines.append(f"Decision  {decision.get('pathway')} (PAMA rating {decision.get('rating')})")
    flags = decision.get("redFlags") or []
    lines.append(
        "Red flags " + (", ".join(flag_names.get(f, f) for f in flags) if flags else "none in the record")
    )
    names = labels()
    for suspicion in decision.get("suspicions") or []:
        behind = ", ".join(flag_names.get(f, f) for f in suspicion["redFlags"])
        condition = names["suspected_conditions"].get(suspicion["condition"], suspicion["condition"])
        lines.append(f"Suspected {condition} ({suspicion['level']}): {behind}")
    return lines


def _card_lines(card: dict[str, Any]) -> list[str]:
    lines = [
        f"Card      [{card['indicator'].upper()}] {card['summary']}",
        _indent(_plain(card.get("detail", "")), "    "),
    ]
    for suggestion in card.get("suggestions", []):
        mark = " (recommended)" if suggestion.get("isRecommended") else ""
        lines.append(f"  Button: {suggestion['label']}{mark}")
        for action in suggestion.get("actions", []):
            lines.append(f"    {action['type']}: {action['description']}")
    if card.get("overrideReasons"):
        lines.append("  Override reasons: " + "; ".join(r["display"] for r in card["overrideReasons"]))
    lines += [f"  Link: {link['label']} <{link['url']}>" for link in card.get("links", [])]
    return lines


def clinician_view(request: dict[str, Any], body: dict[str, Any], settings: Settings) -> str:
    """The response as a GP would read it: per order, the decision, then the cards."""
    drafts = [
        e.get("resource") or {} for e in (request["context"].get("draftOrders") or {}).get("entry") or []
    ]
    decided = {}
    for action in body.get("systemActions") or []:
        resource = action.get("resource") or {}
        decided[resource.get("id")] = read_decision(resource, settings)
    lines: list[str] = []
    for order in drafts:
        if order.get("resourceType") != "ServiceRequest":
            continue
        lines += _order_lines(order, decided.get(order.get("id")))
        lines.append("")
    for card in body.get("cards") or []:
        lines += [*_card_lines(card), ""]
    if decided and not body.get("cards"):
        lines.append(
            "No card: imaging is supported and there is nothing to add (the decision is on the order)."
        )
    return "\n".join(lines).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    """Evaluate one file and print the advice (exit 1 on an unreadable file or an error answer)."""
    try:
        sample = load_sample(args.file, hook=args.hook)
    except SampleError as exc:
        print(f"spine-cds evaluate: {exc}")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        # A throwaway decision log: evaluating a sample is not a real consultation.
        configured = Settings()
        # Keys for this run only where none are set: nothing it signs or hashes outlives it.
        throwaway = SecretStr(secrets.token_urlsafe(32))
        settings = configured.model_copy(
            update={
                "auth": "off",
                "database_url": f"sqlite:///{Path(scratch) / 'evaluate.sqlite'}",
                "log_level": "WARNING",  # no access log line for the one in-process call
                "secret_key": configured.secret_key or throwaway,
                "patient_hash_key": configured.patient_hash_key or throwaway,
            }
        )
        status, body = call_in_process(sample.request, settings)
    if args.json or status != 200 or not isinstance(body, dict):
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0 if status == 200 else 1
    if sample.expected:
        print(f"Sample    {sample.name} (expected pathway: {sample.expected})")
    print(clinician_view(sample.request, body, settings), end="")
    return 0
