"""Trusted CDS clients: the issuer allowlist and each issuer's signing keys (JWK Sets).

The allowlist is a JSON file named by SPINE_CDS_TRUSTED_ISSUERS:
`{"<iss>": {"jwks": {...}} | {"jwks_url": "https://..."}, "jku": [...], "tenants": [...]}`.
Keys from URLs are fetched with a timeout, cached, and re-fetched when a token names a `kid`
the cache does not know (at most once per interval per URL, so a stream of forged kids cannot
turn the service into a request amplifier).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

log = logging.getLogger("cds_service.auth")

JWKS_MAX_BYTES = 256_000  # a JWK Set is a few kilobytes; anything bigger is not one


class TrustedIssuersError(ValueError):
    """The trusted-issuers file is missing, not JSON, or not in the documented shape."""


class JwksUnavailable(Exception):
    """A JWK Set URL could not be fetched or did not hold a JWK Set."""


class IssuerConfig(BaseModel):
    """One trusted issuer: where its keys are, which `jku` it may name, which tenants it may use."""

    model_config = ConfigDict(extra="forbid")

    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    jku: list[str] = Field(default_factory=list)
    tenants: list[str] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _has_keys(self) -> IssuerConfig:
        if self.jwks is None and self.jwks_url is None:
            raise ValueError("an issuer needs `jwks` (inline JWK Set) or `jwks_url`")
        if self.jwks is not None:
            _check_jwk_set(self.jwks)
        for url in [self.jwks_url, *self.jku]:
            if url is not None and not is_acceptable_key_url(url):
                raise ValueError(f"key URL must be https (http only on loopback): {url}")
        return self

    def allowed_jku(self) -> set[str]:
        """The `jku` header values this issuer may send: its jwks_url and any listed."""
        return {url for url in [self.jwks_url, *self.jku] if url}


def _check_jwk_set(jwks: dict[str, Any]) -> None:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise ValueError("a JWK Set is an object with a `keys` array")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA"):
            # Symmetric (oct) keys would let anyone holding the file sign tokens.
            raise ValueError("only public EC and RSA keys are accepted in a JWK Set")
        if "d" in key:
            raise ValueError("a JWK Set of trusted issuers must hold public keys only (found `d`)")


def is_acceptable_key_url(url: str) -> bool:
    """Keys only over https, except from the loopback interface (tests, local sandboxes)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def load_trusted_issuers(path: str | Path) -> dict[str, IssuerConfig]:
    """Read and validate the trusted-issuers file; raise TrustedIssuersError with the reason."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrustedIssuersError(f"cannot read trusted issuers from {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise TrustedIssuersError(f"{path}: expected an object keyed by issuer (`iss`)")
    issuers: dict[str, IssuerConfig] = {}
    for iss, entry in raw.items():
        try:
            issuers[iss] = IssuerConfig.model_validate(entry)
        except ValidationError as exc:
            raise TrustedIssuersError(f"{path}: issuer {iss!r}: {exc}") from exc
    return issuers


def _keys_by_kid(jwks: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key["kid"]: key
        for key in jwks.get("keys", [])
        if isinstance(key, dict) and isinstance(key.get("kid"), str) and key.get("kty") in ("EC", "RSA")
    }


@dataclass
class _CachedSet:
    keys: dict[str, dict[str, Any]]
    fetched_at: float


@dataclass
class JwksCache:
    """JWK Sets fetched from URLs, shared by all requests of one process."""

    timeout_seconds: float
    max_age_seconds: float
    refetch_interval_seconds: float
    _sets: dict[str, _CachedSet] = field(default_factory=dict)
    _last_attempt: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, url: str, kid: str) -> dict[str, Any] | None:
        """The JWK with this kid at this URL, fetching or re-fetching the set when needed."""
        # Fetching under the lock makes concurrent requests wait for one fetch instead of
        # sending one each; the timeout bounds the wait.
        with self._lock:
            now = time.monotonic()
            cached = self._sets.get(url)
            if cached is not None and now - cached.fetched_at < self.max_age_seconds and kid in cached.keys:
                return cached.keys[kid]
            last = self._last_attempt.get(url)
            if last is not None and now - last < self.refetch_interval_seconds:
                # Tried this URL moments ago: answer from what we have rather than hammer the issuer.
                if cached is None:
                    raise JwksUnavailable(f"{url}: last fetch failed, not retried yet")
                return cached.keys.get(kid)
            self._last_attempt[url] = now
            try:
                keys = self._fetch(url)
            except JwksUnavailable:
                if cached is not None and kid in cached.keys:
                    log.warning("JWK Set %s unreachable; using the copy fetched earlier", url)
                    return cached.keys[kid]
                raise
            self._sets[url] = _CachedSet(keys, now)
            return keys.get(kid)

    def _fetch(self, url: str) -> dict[str, dict[str, Any]]:
        try:
            with requests.get(
                url,
                timeout=self.timeout_seconds,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json"},
            ) as response:
                if response.status_code != 200:
                    raise JwksUnavailable(f"{url}: HTTP {response.status_code}")
                body = response.raw.read(JWKS_MAX_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise JwksUnavailable(f"{url}: {type(exc).__name__}") from exc
        if len(body) > JWKS_MAX_BYTES:
            raise JwksUnavailable(f"{url}: JWK Set larger than {JWKS_MAX_BYTES} bytes")
        try:
            jwks = json.loads(body)
        except ValueError as exc:
            raise JwksUnavailable(f"{url}: not JSON") from exc
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise JwksUnavailable(f"{url}: not a JWK Set")
        log.info("fetched JWK Set %s (%d keys)", url, len(jwks["keys"]))
        return _keys_by_kid(jwks)


@dataclass
class IssuerRegistry:
    """Finds the public key for (iss, kid, jku) among the trusted issuers' JWK Sets."""

    issuers: dict[str, IssuerConfig]
    cache: JwksCache

    def key_for(self, issuer: IssuerConfig, kid: str, jku: str | None) -> dict[str, Any] | None:
        """The issuer's JWK for `kid`: inline keys first, then its key URL (the jku if allowlisted)."""
        if issuer.jwks is not None:
            inline = _keys_by_kid(issuer.jwks).get(kid)
            if inline is not None:
                return inline
        url = jku or issuer.jwks_url
        if url is None:
            return None
        return self.cache.key(url, kid)
