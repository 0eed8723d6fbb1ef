"""Service settings, read from environment variables prefixed `SPINE_CDS_` (see docs/configuration.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything an operator can configure. Every field maps to `SPINE_CDS_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="SPINE_CDS_", extra="ignore")

    # Client authentication (CDS Hooks JWT). "off" only for local development.
    auth: Literal["on", "off"] = "on"
    public_url: str = "http://127.0.0.1:8080"
    trusted_issuers: str | None = None  # path to a JSON file: {"<iss>": {"jwks": {...}} | {"jwks_url": ...}}
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["ES384", "RS384", "ES256", "RS256"]
    )
    jwt_leeway_seconds: int = 30  # clock skew on exp/iat/nbf; the sandbox rounds iat to the second
    jwt_max_lifetime_seconds: int = 3600  # exp - iat; best practice keeps tokens short (cds-hooks docs)
    jti_cache_size: int = 100_000  # per-process cache in front of the shared seen_tokens table
    jwks_fetch_timeout_seconds: float = 2.0
    jwks_cache_seconds: int = 3600  # a fetched JWK Set is trusted this long before re-fetching
    jwks_refetch_interval_seconds: int = 60  # at most one re-fetch per URL per interval on an unknown kid

    # FHIR servers the service may call with a client's token (comma-separated base URLs).
    fhir_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    database_url: str = "sqlite:///var/spine-cds.sqlite"
    # Key of the HMAC-SHA256 that replaces patient ids in the decision log; the same on every node.
    # Unset: a random per-process key (logged as a warning), so hashes do not link across restarts.
    patient_hash_key: SecretStr | None = None
    database_connect_timeout_seconds: int = 2  # a down PostgreSQL must not hold a hook call for long
    log_level: str = "INFO"  # the service's JSON logs on stderr (cds_service.*)

    # Request handling and FHIR fallback fetch.
    # A prefetch of a long record is large (5,000 resources are about 4.4 MB): 16 MB admits some
    # 18,000 resources while still refusing absurd bodies before they are read.
    max_body_bytes: int = 16_000_000
    fetch_deadline_seconds: float = 0.8
    fetch_timeout_seconds: float = 0.5
    fetch_max_pages: int = 5
    fetch_max_response_bytes: int = 20_000_000
    fetch_page_size: int = 200  # `_count` added to fallback searches that do not set one
    fetch_ca_bundle: str | None = None  # PEM CAs trusted for FHIR servers (default: certifi's bundle)

    # Presentation.
    canonical_base: str = "https://spine-cds.example.org/fhir"
    quiet_when_supported: bool = True  # no card when imaging is supported and there is nothing to add
    mirror_system_actions: bool = False  # also put systemActions in extension.systemActions (sandbox)

    # Web pages (the red-flag check, the dashboard). One signing key for every node; unset: random
    # per server, with a loud warning, so links and sign-ins from one server do not work on another.
    secret_key: SecretStr | None = None
    check_token_minutes: int = 30  # how long a card's red-flag check link works
    answers_valid_minutes: int = 120  # how long the clinician's answers count for that patient and order
    check_requests_per_minute: int = 60  # per client address, across all nodes (shared database)
    # The clinical lead's dashboard: off unless a users file is named (`spine-cds users add`).
    dashboard_users: str | None = None
    dashboard_session_minutes: int = Field(default=60, ge=1, le=24 * 60)
    tariff_file: str | None = None  # replaces the knowledge tariff (knowledge/tariff.json) of the cost panel

    # SMART on FHIR (docs/smart-on-fhir.md): the red-flag questions as a SMART app the EHR launches.
    smart_client_id: str | None = None  # unset: no SMART app, cards link to the /check/ page
    smart_scopes: str = "launch openid fhirUser patient/QuestionnaireResponse.write"
    smart_timeout_seconds: float = 5.0  # discovery and token requests to the EHR's servers

    @field_validator("fhir_servers", "cors_origins", "jwt_algorithms", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)
