"""The SMART app's routes in the service's OpenAPI document (HTML pages for a clinician's browser)."""

from __future__ import annotations

from typing import Any

HTML = {"text/html": {"schema": {"type": "string"}}}


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": HTML}


def red_flag_answers_form(description: str) -> dict[str, Any]:
    """The body of a red-flag answers form (the check page's and the SMART app's): yes or no per flag."""
    fields = {
        "type": "object",
        "properties": {"csrf_token": {"type": "string"}},
        "additionalProperties": {"enum": ["yes", "no"]},
        "description": description,
    }
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": fields}}}


def smart_paths() -> dict[str, Any]:
    """The SMART app's pages (docs/smart-on-fhir.md)."""
    launch_parameters = [
        {"name": name, "in": "query", "required": True, "description": why, "schema": {"type": "string"}}
        for name, why in (
            ("iss", "The launching EHR's FHIR base URL (must be in SPINE_CDS_FHIR_SERVERS)"),
            ("launch", "The EHR's opaque launch id"),
        )
    ]
    callback_parameters = [
        {"name": name, "in": "query", "required": False, "description": why, "schema": {"type": "string"}}
        for name, why in (
            ("code", "The authorization code"),
            ("state", "The state sent to authorize"),
            ("error", "The authorization server's error, when it refused"),
        )
    ]
    return {
        "/smart/launch": {
            "get": {
                "operationId": "smartLaunch",
                "summary": "SMART EHR launch: redirect to the EHR's authorize endpoint (PKCE S256, state)",
                "parameters": launch_parameters,
                "responses": {
                    "302": {"description": "To the EHR's authorization endpoint"},
                    "400": _page("Launch parameters missing or too long"),
                    "403": _page("The FHIR server is not allowlisted"),
                    "502": _page("The EHR's SMART configuration could not be read or lacks S256"),
                },
            }
        },
        "/smart/callback": {
            "get": {
                "operationId": "smartCallback",
                "summary": "Exchange the code (with the PKCE verifier) and show the red-flag questions",
                "parameters": callback_parameters,
                "responses": {
                    "200": _page("The questions as a form"),
                    "400": _page("Wrong state, launch expired or begun elsewhere, no code or verifier"),
                    "502": _page("The EHR refused the code exchange or gave no patient"),
                },
            }
        },
        "/smart/answers": {
            "post": {
                "operationId": "smartAnswers",
                "summary": "Write the answers to the EHR as a QuestionnaireResponse (once per launch)",
                "requestBody": red_flag_answers_form("One field per red-flag id answered, yes or no"),
                "responses": {
                    "200": _page("Stored in the EHR; a line to copy to the clinical notes"),
                    "400": _page("CSRF token missing or forged, launch expired or spent, bad field"),
                    "403": _page("The FHIR server is no longer allowlisted"),
                    "413": _page("Form over the size limit"),
                    "502": _page("The EHR did not store the answers"),
                },
            }
        },
        "/smart/smart.css": {
            "get": {
                "operationId": "smartStylesheet",
                "summary": "The SMART pages' stylesheet",
                "responses": {
                    "200": {"description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}}
                },
            }
        },
    }
