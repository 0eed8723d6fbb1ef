"""Turn a sample Bundle (sample_bundles/) into the CDS Hooks request a real EHR would send.

The request has what real clients send (reference/cds-hooks.md section 4): a fresh hookInstance,
`draftOrders` as a Bundle *without* `type`, and prefetch keyed as the services declare it
(`cds_service.fhir.queries.PREFETCH_TEMPLATES`), each a searchset Bundle or `null` when nothing
matched. A file that already is a CDS Hooks request is used as it is.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service.fhir.queries import OBSERVATION_CODES, PREFETCH_TEMPLATES
from cds_service.fhir.record import codings

EXPECTED_PATHWAY_SYSTEM = "https://spine-cds.example.org/fhir/CodeSystem/sample-expected-pathway"
NO_DECISION = "no-decision"
ORDER_HOOKS = ("order-select", "order-sign")
SERVICE_FOR_HOOK = {
    "order-select": "spinal-imaging-order-select",
    "order-sign": "spinal-imaging-order-sign",
}
# The record resource types that each prefetch key returns.
KEY_TYPES = {
    "conditions": "Condition",
    "medicationRequests": "MedicationRequest",
    "medicationStatements": "MedicationStatement",
    "observations": "Observation",
    "procedures": "Procedure",
}
DRAFT_TYPES = ("ServiceRequest", "MedicationRequest")
DEFAULT_USER = "Practitioner/gp-1"


class SampleError(ValueError):
    """The file is neither a sample Bundle nor a CDS Hooks request."""


@dataclass(frozen=True)
class Sample:
    """A sample made into a request, with the pathway its bundle expects (None for a request file)."""

    name: str
    request: dict[str, Any]
    expected: str | None


def sample_files(directory: Path) -> list[Path]:
    """The sample bundles in a directory, in name order."""
    return sorted(p for p in directory.glob("*.json") if p.is_file())


def default_samples_dir() -> Path:
    """sample_bundles/ inside the installed package, else at the top of the source tree."""
    installed = Path(__file__).resolve().parent / "sample_bundles"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / "sample_bundles"


def expected_pathway(bundle: dict[str, Any]) -> str | None:
    """The pathway a sample is tagged with, or None when untagged."""
    for tag in (bundle.get("meta") or {}).get("tag") or []:
        if isinstance(tag, dict) and tag.get("system") == EXPECTED_PATHWAY_SYSTEM:
            code = tag.get("code")
            return code if isinstance(code, str) else None
    return None


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not resources:
        return None  # the spec: a prefetch query that matched nothing is sent as null
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def _is_observation_asked_for(resource: dict[str, Any]) -> bool:
    wanted = set(OBSERVATION_CODES)
    return any((s, c) in wanted for s, c, _ in codings(resource.get("code")))


def request_from_bundle(bundle: dict[str, Any], *, hook: str = "order-select") -> dict[str, Any]:
    """The CDS Hooks request for a sample Bundle: the draft orders in context, the record in prefetch."""
    if hook not in ORDER_HOOKS:
        raise SampleError(f"hook must be one of {', '.join(ORDER_HOOKS)}")
    resources = [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise SampleError("a sample Bundle needs exactly one Patient")
    patient = patients[0]
    drafts = [r for r in resources if r.get("resourceType") in DRAFT_TYPES and r.get("status") == "draft"]
    imaging = [r for r in drafts if r.get("resourceType") == "ServiceRequest"]
    if not imaging:
        raise SampleError("a sample Bundle needs a draft ServiceRequest")
    record = [r for r in resources if r not in drafts]
    context: dict[str, Any] = {
        "userId": DEFAULT_USER,
        "patientId": patient["id"],
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": r} for r in drafts]},
    }
    if hook == "order-select":
        context["selections"] = [f"ServiceRequest/{r['id']}" for r in imaging]
    prefetch: dict[str, Any] = {"patient": patient}
    for key, rtype in KEY_TYPES.items():
        if key not in PREFETCH_TEMPLATES:
            continue
        matched = [r for r in record if r.get("resourceType") == rtype]
        if rtype == "Observation":
            matched = [r for r in matched if _is_observation_asked_for(r)]
        prefetch[key] = _searchset(matched)
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch}


def load_sample(path: Path, *, hook: str | None = None) -> Sample:
    """Read a sample Bundle or a CDS Hooks request file (a request's own hook wins unless given)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SampleError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SampleError(f"{path}: not a JSON object")
    if data.get("resourceType") == "Bundle":
        return Sample(
            path.name, request_from_bundle(data, hook=hook or "order-select"), expected_pathway(data)
        )
    if isinstance(data.get("hook"), str) and isinstance(data.get("context"), dict):
        request = dict(data)
        if hook:
            request["hook"] = hook
        return Sample(path.name, request, None)
    raise SampleError(f"{path}: neither a FHIR Bundle nor a CDS Hooks request")


def service_id_for(request: dict[str, Any]) -> str:
    """The service a request goes to, by its hook (order-sign requests go to the order-sign service)."""
    return SERVICE_FOR_HOOK.get(str(request.get("hook")), SERVICE_FOR_HOOK["order-select"])
