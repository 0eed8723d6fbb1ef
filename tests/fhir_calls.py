"""Calling the record loader as the hook route does, for the FHIR fallback tests."""

from __future__ import annotations

from typing import Any

from cds_service import Settings
from cds_service.fhir.load import load_patient_record
from cds_service.fhir.record import PatientRecord

TOKEN = "s3cr3t-access-token-never-logged"


def settings_for(*servers: str, **overrides: Any) -> Settings:
    return Settings(auth="off", fhir_servers=list(servers), **overrides)


def fetch_everything(
    server: str, settings: Settings, *, patient_id: str = "p1", **kwargs: Any
) -> PatientRecord:
    """A hook call with no prefetch at all: every key comes from the FHIR server."""
    args: dict[str, Any] = {
        "context": {"patientId": patient_id, "userId": "Practitioner/gp-1"},
        "prefetch": None,
        "fhir_server": server,
        "access_token": None,
        "settings": settings,
    }
    args.update(kwargs)
    return load_patient_record(**args)
