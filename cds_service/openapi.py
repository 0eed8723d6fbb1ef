"""The service's own OpenAPI 3.1 document, served at GET /openapi.json.

Schemas are generated from the pydantic models the routes validate and emit (hooks/request.py,
hooks/response.py), so the document cannot drift from the code; tests check that every route the
app serves is described and that real answers validate against the described schemas.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cds_service.api.routes import SERVICES_KEY
from cds_service.app_parts import service_version
from cds_service.hooks.request import DiscoveryResponse, FeedbackRequest, HookRequest
from cds_service.hooks.response import HookResponse
from cds_service.smart.api_description import red_flag_answers_form, smart_paths

OPENAPI_KEY = "spine_cds.openapi"
JSON = "application/json"
FHIR_JSON = "application/fhir+json"

# FHIR R4 OperationOutcome, only as much as the service sends (cds_service/errors.py).
OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "details": {"type": "object", "properties": {"text": {"type": "string"}}},
                    "diagnostics": {"type": "string"},
                },
            },
        },
    },
}

# Status codes a client can get from the hook and feedback endpoints, and what each means.
ERRORS = {
    "400": "Not a valid CDS Hooks call (the OperationOutcome says which field)",
    "401": "Missing or refused client JWT (no reason is given)",
    "404": "No CDS service with this id",
    "413": "Body over the configured size limit",
    "415": "Body is not JSON",
}


def _schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [
        (HookRequest, "validation"),
        (FeedbackRequest, "validation"),
        (HookResponse, "serialization"),
        (DiscoveryResponse, "serialization"),
    ]
    _, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = definitions.get("$defs", {})
    schemas["OperationOutcome"] = OPERATION_OUTCOME
    schemas["FeedbackAccepted"] = {"type": "object", "description": "Empty object: every item was stored"}
    return schemas


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str, media: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": _ref(name)}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _json("OperationOutcome", ERRORS[code], FHIR_JSON) for code in codes}


def _service_id(service_ids: list[str]) -> dict[str, Any]:
    return {
        "name": "service_id",
        "in": "path",
        "required": True,
        "description": "A service id from discovery",
        "schema": {"type": "string", "enum": service_ids},
    }


# Authentication checks each token against the database shared by every node (see api/auth.py).
REPLAY_STORE_DOWN = {
    "description": "The database that guards against token replay is down: retry later",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {FHIR_JSON: {"schema": _ref("OperationOutcome")}},
}


def _hook_operations(service_ids: list[str]) -> dict[str, Any]:
    secured: list[dict[str, list[str]]] = [{"cdsClientJwt": []}]
    return {
        "/cds-services": {
            "get": {
                "operationId": "discovery",
                "summary": "CDS Hooks discovery: the services and their prefetch templates",
                "security": secured,
                "responses": {
                    "200": _json("DiscoveryResponse", "The services"),
                    **_errors("401"),
                    "503": REPLAY_STORE_DOWN,
                },
            }
        },
        "/cds-services/{service_id}": {
            "post": {
                "operationId": "callService",
                "summary": "An order-select or order-sign call: cards and the decision on each spinal order",
                "security": secured,
                "parameters": [_service_id(service_ids)],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("HookRequest")}}},
                "responses": {
                    "200": _json(
                        "HookResponse", 'Cards and systemActions; {"cards": []} when nothing applies'
                    ),
                    **_errors("400", "401", "404", "413", "415"),
                    "412": _json("OperationOutcome", "Nothing about the patient could be read", FHIR_JSON),
                    "503": REPLAY_STORE_DOWN,
                },
            }
        },
        "/cds-services/{service_id}/feedback": {
            "post": {
                "operationId": "feedback",
                "summary": "What the clinician did with a card (accepted or overridden)",
                "security": secured,
                "parameters": [_service_id(service_ids)],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("FeedbackRequest")}}},
                "responses": {
                    "200": _json("FeedbackAccepted", "Stored (the same item twice is stored once)"),
                    **_errors("400", "401", "404", "413", "415"),
                    "503": _json("OperationOutcome", "The store is down: retry later", FHIR_JSON),
                },
            }
        },
    }


def _operations_paths() -> dict[str, Any]:
    text = {"text/plain": {"schema": {"type": "string"}}}
    status = {"application/json": {"schema": {"type": "object"}}}
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Alive",
                "responses": {"200": {"description": "Alive", "content": status}},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Ready: knowledge loaded and database reachable",
                "responses": {
                    "200": {"description": "Ready", "content": status},
                    "503": _json("OperationOutcome", "Not ready, and why", FHIR_JSON),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Prometheus text exposition", "content": text}},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": status}},
            }
        },
    }


def _check_paths() -> dict[str, Any]:
    """The red-flag check pages (HTML for a clinician's browser; docs/red-flag-check.md)."""
    html = {"text/html": {"schema": {"type": "string"}}}
    token = {
        "name": "token",
        "in": "path",
        "required": True,
        "description": "The signed, timed token of a card's red-flag check link",
        "schema": {"type": "string"},
    }
    refused = {
        status: {"description": why, "content": html}
        for status, why in {
            "400": "Link not valid (tampered, another service's), CSRF token missing or forged, bad field",
            "409": "The link was already used",
            "410": "The link has expired",
            "413": "Form over the size limit",
            "415": "Not a form",
            "429": "Too many requests from this address",
            "503": "The database is unavailable",
        }.items()
    }
    return {
        "/check/{token}": {
            "get": {
                "operationId": "showRedFlagQuestions",
                "summary": "The card's red-flag questions as a form",
                "parameters": [token],
                "responses": {"200": {"description": "The form", "content": html}, **refused},
            },
            "post": {
                "operationId": "saveRedFlagAnswers",
                "summary": "Store the answers (once per link) and show what follows",
                "parameters": [token],
                "requestBody": red_flag_answers_form("One field per red-flag id asked, yes or no"),
                "responses": {"200": {"description": "Stored; the outcome", "content": html}, **refused},
            },
        },
        "/Questionnaire/spinal-red-flags": {
            "get": {
                "operationId": "redFlagQuestionnaire",
                "summary": "The red-flag questions as a FHIR R4 Questionnaire (SDC), from the knowledge",
                "responses": {
                    "200": {
                        "description": "Questionnaire",
                        "content": {FHIR_JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/check/static/check.css": {
            "get": {
                "operationId": "redFlagCheckStylesheet",
                "summary": "The pages' stylesheet",
                "responses": {
                    "200": {
                        "description": "CSS",
                        "content": {"text/css": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def build_openapi(service_ids: list[str]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service, for the declared service ids."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "spine-cds: spinal imaging advice (CDS Hooks 2.0)",
            "version": service_version(),
            "description": "Advice on spinal X-ray, CT and MRI orders in primary care (CDS Hooks 2.0)",
        },
        "paths": {**_hook_operations(service_ids), **_operations_paths(), **_check_paths(), **smart_paths()},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "cdsClientJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "CDS Hooks client JWT from a trusted issuer; `aud` is the URL called",
                }
            },
        },
    }


def _serve_openapi() -> ResponseReturnValue:
    document = current_app.extensions.get(OPENAPI_KEY)
    if document is None:
        services = current_app.extensions.get(SERVICES_KEY, ())
        document = build_openapi([service.id for service in services])
        current_app.extensions[OPENAPI_KEY] = document
    return jsonify(document)


def install_openapi(app: Flask) -> None:
    """Serve the OpenAPI document at GET /openapi.json (no authentication: it holds no data)."""
    app.add_url_rule("/openapi.json", "openapi", _serve_openapi, methods=["GET"])
