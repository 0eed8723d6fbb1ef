"""FHIR fallback fetch: the prefetch keys the client did not supply, read from its FHIR server.

Safety (issue 5, "Safe FHIR access"): `fhirServer` comes from the caller, so only allowlisted
servers are called, over https unless on loopback; redirects are never followed and paging links
are followed only on the same server, so the caller's token is sent nowhere else; responses are
size-capped. Every key is fetched concurrently under one deadline, because the EHR is waiting.
Neither the token nor query URLs (they carry the patient id) are ever logged.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from cds_service.errors import Forbidden
from cds_service.fhir.prefetch import bundle_resources, next_link
from cds_service.fhir.record import Resource
from cds_service.metrics import FALLBACK_FETCHES
from cds_service.settings import Settings

log = logging.getLogger(__name__)
# urllib3 logs every request line at DEBUG, and our query URLs carry the patient id: keep it quiet
# even when an operator turns the root logger up to DEBUG.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

_CHUNK_BYTES = 64 * 1024
_POOL_SIZE = 16  # connections kept per FHIR server: several keys of several concurrent hook calls

# One session per allowlisted server (so a bounded number), reused across hook calls: a fresh TLS
# handshake per key per call would cost more than the queries themselves.
_sessions: dict[str, requests.Session] = {}
_sessions_lock = threading.Lock()


def _session_for(base: str) -> requests.Session:
    """The shared session for one allowlisted server, created on first use."""
    with _sessions_lock:
        session = _sessions.get(base)
        if session is None:
            session = requests.Session()
            # No proxies or .netrc from the environment: the token goes to the FHIR server only.
            session.trust_env = False
            # Calls carry different users' tokens, so nothing a server sets may outlive a request.
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=_POOL_SIZE, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _sessions[base] = session
        return session


@dataclass(frozen=True)
class FetchResult:
    """One key's fetch: the resources read (None when it failed) and whether every page was read."""

    resources: tuple[Resource, ...] | None
    complete: bool
    outcome: str  # "ok", "not-found", "truncated", or the failure: "timeout", "unreachable", ...
    pages: int = 0


class _FetchFailed(Exception):
    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def _normalise(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_server(fhir_server: str, settings: Settings) -> str:
    """The normalised base URL of `fhir_server` if the service may call it, else raise Forbidden."""
    base = _normalise(fhir_server)
    if base not in {_normalise(s) for s in settings.fhir_servers}:
        raise Forbidden(
            "The FHIR server named in fhirServer is not one this service may call",
            diagnostics=f"{fhir_server} is not listed in SPINE_CDS_FHIR_SERVERS",
        )
    parts = urlsplit(base)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        raise Forbidden(
            "The FHIR server must be reached over https",
            diagnostics="plain http is only allowed to a loopback address",
        )
    return base


def on_server(url: str, base: str) -> bool:
    """True when an absolute URL lies under the server's base URL (same scheme, host, port, path)."""
    parts, root = urlsplit(url), urlsplit(base)
    return (
        parts.scheme.lower() == root.scheme.lower()
        and parts.netloc.lower() == root.netloc.lower()
        and (parts.path.rstrip("/") + "/").startswith(root.path.rstrip("/") + "/")
    )


def _get_json(
    session: requests.Session, url: str, headers: Mapping[str, str], deadline: float, settings: Settings
) -> dict[str, object] | None:
    """GET one page as a JSON object; None for 404 (no such resource)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _FetchFailed("timeout")
    timeout = min(settings.fetch_timeout_seconds, remaining)
    cap = settings.fetch_max_response_bytes
    try:
        with session.get(
            url,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            # Per request, not per session: the environment's CA variables are ignored (trust_env).
            verify=settings.fetch_ca_bundle or True,
        ) as resp:
            if resp.is_redirect or 300 <= resp.status_code < 400:
                raise _FetchFailed("redirect-refused")
            if resp.status_code == 404:
                return None
            if resp.status_code in (401, 403):
                raise _FetchFailed("unauthorized")
            if resp.status_code != 200:
                raise _FetchFailed("http-error")
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _FetchFailed("too-large")
            body = bytearray()
            for chunk in resp.iter_content(_CHUNK_BYTES):
                body += chunk
                if len(body) > cap:
                    raise _FetchFailed("too-large")
                # A server trickling bytes never trips the per-read timeout; the deadline stops it.
                if time.monotonic() > deadline:
                    raise _FetchFailed("timeout")
    except requests.Timeout as exc:
        raise _FetchFailed("timeout") from exc
    except requests.exceptions.SSLError as exc:
        raise _FetchFailed("tls-error") from exc
    except requests.ConnectionError as exc:
        raise _FetchFailed("unreachable") from exc
    except requests.RequestException as exc:
        raise _FetchFailed("error") from exc
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise _FetchFailed("garbage") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("resourceType"), str):
        raise _FetchFailed("garbage")
    return parsed


def _fetch_key(url: str, base: str, token: str | None, deadline: float, settings: Settings) -> FetchResult:
    """Read one query, following `next` links on the same server up to the page cap."""
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resources: list[Resource] = []
    pages = 0
    next_url: str | None = url if url.startswith(("http://", "https://")) else urljoin(base + "/", url)
    session = _session_for(base)
    while next_url is not None:
        if not on_server(next_url, base):
            return FetchResult(tuple(resources), complete=False, outcome="foreign-link", pages=pages)
        if pages >= settings.fetch_max_pages:
            return FetchResult(tuple(resources), complete=False, outcome="truncated", pages=pages)
        try:
            body = _get_json(session, next_url, headers, deadline, settings)
        except _FetchFailed as failed:
            if not pages:
                raise
            # Later pages failed: what was read still counts, flagged as incomplete.
            return FetchResult(tuple(resources), complete=False, outcome=failed.outcome, pages=pages)
        pages += 1
        if body is None:
            # 404 on a read means "no such resource"; on a search it means the server cannot
            # answer it (e.g. an unsupported type), which must not pass for "nothing recorded".
            if pages == 1 and "?" not in next_url:
                return FetchResult((), complete=True, outcome="not-found", pages=pages)
            raise _FetchFailed("http-error")
        if body["resourceType"] == "OperationOutcome":
            raise _FetchFailed("operation-outcome")
        if body["resourceType"] != "Bundle":
            resources.append(body)
            break
        resources.extend(bundle_resources(body))
        next_url = next_link(body)
    return FetchResult(tuple(resources), complete=True, outcome="ok", pages=pages)


def _guarded(url: str, base: str, token: str | None, deadline: float, settings: Settings) -> FetchResult:
    try:
        return _fetch_key(url, base, token, deadline, settings)
    except _FetchFailed as failed:
        return FetchResult(None, complete=False, outcome=failed.outcome)
    except Exception as exc:  # whatever a remote server sends must not turn into a 500
        # Only the type: messages of HTTP errors carry the URL, hence the patient id.
        log.error("FHIR fallback fetch failed unexpectedly: %s", type(exc).__name__)
        return FetchResult(None, complete=False, outcome="error")


def fetch_all(
    base: str, queries: Mapping[str, str], *, access_token: str | None, settings: Settings
) -> dict[str, FetchResult]:
    """Fetch every key's query (relative to `base`, or an absolute link on it) concurrently,
    all within `settings.fetch_deadline_seconds`; keys not finished by then are "timeout"."""
    if not queries:
        return {}
    started = time.monotonic()
    deadline = started + settings.fetch_deadline_seconds
    pool = ThreadPoolExecutor(max_workers=len(queries), thread_name_prefix="fhir-fetch")
    futures: dict[Future[FetchResult], str] = {
        pool.submit(_guarded, url, base, access_token, deadline, settings): key
        for key, url in queries.items()
    }
    wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    # Late threads stop at their own timeout or the deadline check; nobody waits for them.
    pool.shutdown(wait=False, cancel_futures=True)
    results: dict[str, FetchResult] = {}
    for future, key in futures.items():
        result = (
            future.result()
            if future.done() and not future.cancelled()
            else FetchResult(None, complete=False, outcome="timeout")
        )
        results[key] = result
        FALLBACK_FETCHES.labels(key=key, outcome=result.outcome).inc()
        log.info("FHIR fallback fetch of %s: %s (%d page(s))", key, result.outcome, result.pages)
    log.info(
        "FHIR fallback fetch of %d key(s) took %.0f ms", len(queries), (time.monotonic() - started) * 1000
    )
    return results
