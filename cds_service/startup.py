"""What an operator must read when the service starts: said once per process group, as JSON.

`spine-cds serve` says it in gunicorn's master before the workers are forked: the guideline's review
warning (knowledge is loaded there and inherited by every worker) and the warnings about how the
service is exposed. Workers build their apps with `announce=False` and stay quiet. Any other process
that builds an app (the Python entry point, the tests) says it when it does. An in-process run
(`spine-cds evaluate`) serves no one: it says nothing about exposure.
"""

from __future__ import annotations

import logging

from cds_service.api.observability import configure_json_logging
from cds_service.knowledge import load_knowledge
from cds_service.settings import Settings

AUTH_OFF = (
    "CLIENT AUTHENTICATION IS OFF (SPINE_CDS_AUTH=off): anyone who can reach this service can call it. "
    "Use this for local development only."
)
PATIENT_HASH_KEY_UNSET = (
    "SPINE_CDS_PATIENT_HASH_KEY is not set: patient ids are hashed with a random key for each process "
    "only, so the log cannot link one patient's decisions across processes, restarts or nodes"
)
CORS_ANY_ORIGIN = "CORS allows any origin (SPINE_CDS_CORS_ORIGINS contains '*')"


def exposure_warnings(settings: Settings) -> list[tuple[str, str]]:
    """(logger name, message) for each setting that makes a served service unsafe or its log weaker."""
    warnings = []
    if settings.auth == "off":
        warnings.append(("cds_service.auth", AUTH_OFF))
    if settings.patient_hash_key is None:
        warnings.append(("cds_service.store", PATIENT_HASH_KEY_UNSET))
    if "*" in settings.cors_origins:
        warnings.append(("cds_service.cors", CORS_ANY_ORIGIN))
    return warnings


def announce(settings: Settings) -> None:
    """Log the exposure warnings for these settings (JSON lines on stderr)."""
    configure_json_logging(settings.log_level)
    for logger, message in exposure_warnings(settings):
        logging.getLogger(logger).warning(message)


def announce_for_workers(settings: Settings) -> None:
    """In a server's parent process: load the knowledge (its review warning said here, once) and
    say the exposure warnings, so that the workers forked afterwards need say neither."""
    configure_json_logging(settings.log_level)
    load_knowledge()
    announce(settings)
