"""Build the PatientRecord for one hook call: prefetch first, the FHIR server for what is missing.

Required keys (patient, conditions) that cannot be had answer 412, as CDS Hooks says; optional
keys that cannot be had are named in `PatientRecord.unavailable` so the cards say what was not
checked instead of treating absent data as reassurance.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cds_service.errors import Forbidden, PreconditionFailed
from cds_service.fhir.client import FetchResult, allowed_server, fetch_all
from cds_service.fhir.prefetch import Present, Resolution, resolve_prefetch
from cds_service.fhir.queries import (
    KEY_CATEGORY,
    PREFETCH_TEMPLATES,
    QUESTIONNAIRE_RESPONSES_KEY,
    REQUIRED_KEYS,
    UnfillableTemplate,
    fill_template,
)
from cds_service.fhir.record import PatientRecord, Resource
from cds_service.settings import Settings

log = logging.getLogger(__name__)


def _with_page_size(query: str, page_size: int) -> str:
    """Ask for big pages on searches that do not set `_count`, so paging stays under the cap."""
    if "?" not in query or "_count=" in query:
        return query
    return f"{query}&_count={page_size}"


def _fetched_by_key(
    resolutions: Mapping[str, Resolution],
    *,
    context: Mapping[str, Any],
    fhir_server: str | None,
    access_token: str | None,
    settings: Settings,
    templates: Mapping[str, str],
) -> tuple[dict[str, FetchResult], dict[str, str]]:
    """Fetch what prefetch lacks: (results by key, failure reason by key for keys not fetched)."""
    queries: dict[str, str] = {}
    failures: dict[str, str] = {}
    for key, resolution in resolutions.items():
        if isinstance(resolution, Present):
            if resolution.next_url is not None:
                queries[key] = resolution.next_url  # the client sent only the first page
            continue
        try:
            queries[key] = _with_page_size(fill_template(templates[key], context), settings.fetch_page_size)
        except UnfillableTemplate as exc:
            failures[key] = str(exc)
    if not queries:
        return {}, failures
    must_fetch = [k for k in queries if not isinstance(resolutions[k], Present)]
    if fhir_server is None:
        failures.update({k: "not in the prefetch and no fhirServer given" for k in must_fetch})
        return {}, failures
    try:
        base = allowed_server(fhir_server, settings)
    except Forbidden:
        if any(key != QUESTIONNAIRE_RESPONSES_KEY for key in must_fetch):
            raise  # a clear 403, and nothing is fetched
        # Answers in the EHR are a bonus, never a reason to refuse a call the prefetch can answer.
        failures.update({k: "fhirServer is not allowlisted" for k in must_fetch})
        return {}, failures  # and continuation pages of a paginated prefetch: use what was sent
    return fetch_all(base, queries, access_token=access_token, settings=settings), failures


def _key_data(
    resolution: Resolution, result: FetchResult | None
) -> tuple[list[Resource] | None, bool, str | None]:
    """One key's (resources, or None when it could not be had; whether complete; why it failed)."""
    if isinstance(resolution, Present):
        got = list(resolution.resources)
        if resolution.next_url is None:
            return got, True, None
        if result is None or result.resources is None:
            return got, False, None  # the client's first page only
        return got + list(result.resources), result.complete, None
    if result is None:
        return None, False, None  # never fetched: the reason is already recorded
    if result.resources is None:
        return None, False, f"FHIR fetch failed ({result.outcome})"
    return list(result.resources), result.complete, None


def load_patient_record(
    *,
    context: Mapping[str, Any],
    prefetch: Any,
    fhir_server: str | None,
    access_token: str | None,
    settings: Settings,
    other_orders: Sequence[Resource] = (),
    templates: Mapping[str, str] = PREFETCH_TEMPLATES,
) -> PatientRecord:
    """The patient's record for this hook call; raises PreconditionFailed (412) when the required
    keys cannot be had and Forbidden (403) when a fetch would go to a server not allowlisted."""
    resolutions = resolve_prefetch(prefetch, templates)
    fetched, failures = _fetched_by_key(
        resolutions,
        context=context,
        fhir_server=fhir_server,
        access_token=access_token,
        settings=settings,
        templates=templates,
    )
    resources_by_key: dict[str, list[Resource]] = {}
    unavailable: set[str] = set()
    for key, resolution in resolutions.items():
        got, complete, failure = _key_data(resolution, fetched.get(key))
        if failure is not None:
            failures[key] = failure
        if got is None:
            continue
        resources_by_key[key] = got
        if not complete and key in KEY_CATEGORY:
            unavailable.add(KEY_CATEGORY[key])

    missing_required = sorted(k for k in REQUIRED_KEYS & templates.keys() if k not in resources_by_key)
    if missing_required:
        raise PreconditionFailed(
            "Required patient data could not be obtained from prefetch or the FHIR server",
            diagnostics="; ".join(
                f"prefetch key '{k}': {failures.get(k, 'unavailable')}" for k in missing_required
            ),
        )
    unavailable.update(KEY_CATEGORY[k] for k in templates if k in KEY_CATEGORY and k not in resources_by_key)

    patient = next(
        (r for r in resources_by_key.get("patient", []) if r.get("resourceType") == "Patient"),
        None,
    )
    if patient is None:
        unavailable.add("patient")
    responses = resources_by_key.pop(QUESTIONNAIRE_RESPONSES_KEY, None)
    record_resources = [r for key, rs in resources_by_key.items() if key != "patient" for r in rs]
    if unavailable:
        log.info("Record loaded without: %s", ", ".join(sorted(unavailable)))
    record = PatientRecord.from_resources(
        patient,
        record_resources,
        as_of=datetime.now(UTC).date(),
        unavailable=unavailable,
        draft_orders=other_orders,
    )
    record.questionnaire_responses = tuple(responses) if responses is not None else None
    return record
