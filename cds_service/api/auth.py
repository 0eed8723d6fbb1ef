"""Client authentication: the CDS Hooks client JWT on discovery, hook and feedback calls.

Follows the CDS Hooks 2.0 security section and its best practices: `iss` allowlisted, `jku`
allowlisted for that issuer, an asymmetric signature (never `none` or HMAC) by a key in the
issuer's JWK Set, `aud` equal to the URL called, `exp`/`iat`/`nbf` within a small clock skew,
`jti` never seen before by any worker or node, `tenant` allowlisted when the issuer names tenants.
Any failure is a bare 401; the reason goes to the server log and a metric, never to the caller, and
the token is never logged.

When the database holding the shared replay table is down, a token cannot be checked against the
other nodes: it is refused (fail closed), but with 503 and Retry-After, not 401. A 401 tells the EHR
its credentials are wrong, which is false and may make it stop calling or alert on its keys; a 503
says "try again", and the EHR's retry succeeds once the database is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from flask import Flask, Response, g, request

from cds_service.api.errors import outcome_response
from cds_service.api.issuers import (
    IssuerConfig,
    IssuerRegistry,
    JwksCache,
    JwksUnavailable,
    load_trusted_issuers,
)
from cds_service.api.replay import JtiCache, ReplayGuard, SharedSeenTokens
from cds_service.app_parts import settings_of
from cds_service.errors import StoreUnavailable, Unauthorized
from cds_service.metrics import AUTH_FAILURES
from cds_service.settings import Settings
from cds_service.store import get_store
from cds_service.store.seen_tokens import SeenTokens

log = logging.getLogger("cds_service.auth")

# Routes anyone may call: probes, metrics and the API description carry no patient data.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
# Pages a clinician opens in a browser from a card link or an EHR launch, and the published
# Questionnaire: they carry their own protection (signed tokens, the EHR's OAuth) or no patient data.
# The dashboard has its own sign-in and session cookie (checked by its blueprint): a client JWT does
# not open it, and no other path accepts its cookie in place of a JWT.
BROWSER_PAGE_PREFIXES = ("/check/", "/smart/", "/Questionnaire/", "/dashboard")

# Curve each ECDSA algorithm is defined on (RFC 7518 §3.4); a mismatch is a forged header.
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
ASYMMETRIC_ALGORITHMS = frozenset({*EC_CURVES, "RS256", "RS384", "RS512"})
MIN_RSA_BITS = 2048


class AuthFailure(Exception):
    """A token was refused; `reason` is a short metric label, never shown to the client."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class TokenVerifier:
    """Verifies CDS Hooks client JWTs against the trusted issuers; one per app."""

    registry: IssuerRegistry
    replay: ReplayGuard
    algorithms: frozenset[str]
    leeway_seconds: int
    max_lifetime_seconds: int

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """Return the verified claims, or raise AuthFailure with the reason.

        Raises StoreUnavailable when the replay check cannot reach the shared table."""
        try:
            unverified_token = jwt.decode_complete(token, options={"verify_signature": False})
            header: dict[str, Any] = unverified_token["header"]
            unverified: dict[str, Any] = unverified_token["payload"]
        except jwt.PyJWTError as exc:
            raise AuthFailure("malformed-token", type(exc).__name__) from exc
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AuthFailure("algorithm-not-allowed", repr(alg)[:40])
        if header.get("typ", "JWT") != "JWT":
            raise AuthFailure("wrong-type", repr(header.get("typ"))[:40])
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthFailure("missing-kid")
        iss = unverified.get("iss")
        issuer = self.registry.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None or not isinstance(iss, str):
            raise AuthFailure("unknown-issuer")
        jku = header.get("jku")
        if jku is not None and jku not in issuer.allowed_jku():
            raise AuthFailure("jku-not-allowed", repr(jku)[:200])
        public_key = self._public_key(issuer, kid, jku, alg)
        claims = self._decode(token, public_key, alg, audience, iss)
        self._check_tenant(issuer, claims)
        self._check_replay(iss, claims)
        return claims

    def _public_key(self, issuer: IssuerConfig, kid: str, jku: str | None, alg: str) -> Any:
        try:
            jwk = self.registry.key_for(issuer, kid, jku)
        except JwksUnavailable as exc:
            raise AuthFailure("jwks-unavailable", str(exc)) from exc
        if jwk is None:
            raise AuthFailure("unknown-kid")
        if jwk.get("alg") not in (None, alg):
            raise AuthFailure("algorithm-not-allowed", f"key is for {jwk.get('alg')}")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
        except jwt.PyJWTError as exc:
            raise AuthFailure("unusable-key", type(exc).__name__) from exc
        if alg in EC_CURVES:
            if not isinstance(key, EllipticCurvePublicKey) or key.curve.name != EC_CURVES[alg]:
                raise AuthFailure("algorithm-not-allowed", "key curve does not match alg")
        elif not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            raise AuthFailure("algorithm-not-allowed", "not an RSA key of at least 2048 bits")
        return key

    def _decode(self, token: str, key: Any, alg: str, audience: str, iss: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                leeway=self.leeway_seconds,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise AuthFailure("bad-signature") from exc
        except jwt.ExpiredSignatureError as exc:
            raise AuthFailure("expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthFailure("not-yet-valid", str(exc)) from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthFailure("wrong-audience") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthFailure("missing-claim", exc.claim) from exc
        except jwt.PyJWTError as exc:
            raise AuthFailure("invalid-claims", type(exc).__name__) from exc
        # PyJWT only checks iat is not in the future; a token living for days is no nonce.
        if claims["exp"] - claims["iat"] > self.max_lifetime_seconds:
            raise AuthFailure("lifetime-too-long")
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise AuthFailure("missing-claim", "jti")
        return claims

    @staticmethod
    def _check_tenant(issuer: IssuerConfig, claims: dict[str, Any]) -> None:
        if issuer.tenants is not None and claims.get("tenant") not in issuer.tenants:
            raise AuthFailure("tenant-not-allowed")

    def _check_replay(self, iss: str, claims: dict[str, Any]) -> None:
        if not self.replay.first_use(iss, claims["jti"], float(claims["exp"]) + self.leeway_seconds):
            raise AuthFailure("replayed-jti")


def build_verifier(settings: Settings, seen_tokens: SharedSeenTokens) -> TokenVerifier:
    """A verifier for the issuers in SPINE_CDS_TRUSTED_ISSUERS (none trusted if unset).

    `seen_tokens` is the deployment's shared table of token ids (the replay authority)."""
    issuers = load_trusted_issuers(settings.trusted_issuers) if settings.trusted_issuers else {}
    unknown = set(settings.jwt_algorithms) - ASYMMETRIC_ALGORITHMS
    if unknown:
        raise ValueError(f"SPINE_CDS_JWT_ALGORITHMS: not asymmetric signature algorithms: {sorted(unknown)}")
    cache = JwksCache(
        timeout_seconds=settings.jwks_fetch_timeout_seconds,
        max_age_seconds=settings.jwks_cache_seconds,
        refetch_interval_seconds=settings.jwks_refetch_interval_seconds,
    )
    return TokenVerifier(
        registry=IssuerRegistry(issuers=issuers, cache=cache),
        replay=ReplayGuard(local=JtiCache(max_entries=settings.jti_cache_size), shared=seen_tokens),
        algorithms=frozenset(settings.jwt_algorithms),
        leeway_seconds=settings.jwt_leeway_seconds,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )


def _replay_store_down() -> Response:
    response = outcome_response(
        StoreUnavailable("The service cannot check tokens right now; try again shortly.").operation_outcome(),
        503,
    )
    response.headers["Retry-After"] = "1"
    return response


def _unauthorized() -> Response:
    response = outcome_response(Unauthorized("Authentication required").operation_outcome(), 401)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _claim_for_log(claims: dict[str, Any], name: str) -> str:
    return repr(claims.get(name))[:120]


def install_auth(app: Flask) -> None:
    """Require a valid client JWT on every route except probes, metrics, the API document and preflight."""
    settings = settings_of(app)
    if settings.auth == "off":
        return  # said once at start-up (cds_service.startup)
    verifier = build_verifier(settings, SeenTokens(get_store(app)))
    if not verifier.registry.issuers:
        log.error(
            "SPINE_CDS_AUTH=on but no trusted issuers are configured (SPINE_CDS_TRUSTED_ISSUERS): "
            "every call will be refused with 401"
        )
    app.extensions["spine_cds.token_verifier"] = verifier
    public_url = settings.public_url.rstrip("/")

    @app.before_request
    def _authenticate() -> Response | None:
        if (
            request.method == "OPTIONS"
            or request.path in PUBLIC_PATHS
            or request.path.startswith(BROWSER_PAGE_PREFIXES)
        ):
            return None
        token = _bearer_token()
        try:
            if token is None:
                raise AuthFailure("missing-token")
            g.client_claims = verifier.verify(token, audience=public_url + request.path)
        except StoreUnavailable as outage:
            AUTH_FAILURES.labels(reason="replay-store-unavailable").inc()
            log.error(
                "client JWT not checked for replay: database unavailable (%s); answered 503 path=%s",
                type(outage.__cause__ or outage).__name__,
                request.path,
            )
            return _replay_store_down()
        except AuthFailure as failure:
            AUTH_FAILURES.labels(reason=failure.reason).inc()
            try:
                unverified = jwt.decode(token, options={"verify_signature": False}) if token else {}
                kid = repr(jwt.get_unverified_header(token).get("kid"))[:120] if token else "None"
            except jwt.PyJWTError:
                unverified, kid = {}, "None"
            log.warning(
                "client JWT refused: reason=%s detail=%s path=%s iss=%s kid=%s jti=%s",
                failure.reason,
                failure.detail,
                request.path,
                _claim_for_log(unverified, "iss"),
                kid,
                _claim_for_log(unverified, "jti"),
            )
            return _unauthorized()
        return None
