"""The calls of `scripts/cluster-demo.sh`: hook calls and feedback through the proxy, each call with
a freshly signed client JWT, from a fixed number of threads, bounded in time and count.

Every call is recorded with when it started and ended (monotonic clock), so the demo can tell which
failed calls were in flight when a node was killed.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from cds_service.samples import service_id_for
from tests.client_keys import ClientKey

MAX_CALLS = 100_000  # hard cap whatever the duration
TIMEOUT_SECONDS = 40.0  # above nginx's proxy_read_timeout (35 s)


@dataclass(frozen=True)
class Call:
    """One HTTP call as the client saw it."""

    kind: str  # "hook" | "feedback"
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    error: str = ""
    hook_instance: str = ""
    card: str = ""  # the card uuid the hook answered with, or the one the feedback is about
    check_link: str = ""  # the card's link to the red-flag check, if any


@dataclass
class Client:
    """A CDS client of the cluster: its signing key, the proxy's URL and certificate, the request."""

    signer: ClientKey
    public_url: str
    cert: Path
    request: dict[str, Any]

    @property
    def service_path(self) -> str:
        """Path of the hook service the request goes to."""
        return f"/cds-services/{service_id_for(self.request)}"

    def headers(self, path: str) -> dict[str, str]:
        """Headers with a fresh JWT whose aud is the public URL of `path`."""
        token = self.signer.token(f"{self.public_url}{path}")
        return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def hook_body(self) -> tuple[str, str]:
        """(hookInstance, body) of a new hook call."""
        hook_instance = str(uuid.uuid4())
        return hook_instance, json.dumps({**self.request, "hookInstance": hook_instance})

    def hook(self, session: requests.Session, base: str | None = None) -> Call:
        """One hook call (to `base`, the proxy by default), with a fresh hookInstance and JWT."""
        hook_instance, body = self.hook_body()
        headers = self.headers(self.service_path)
        call, answer = _post(
            session, f"{base or self.public_url}{self.service_path}", body, headers, self.cert
        )
        cards = answer.get("cards") or [] if isinstance(answer, dict) else []
        first = cards[0] if cards and isinstance(cards[0], dict) else {}
        card = str(first.get("uuid", ""))
        links = [str(link.get("url", "")) for link in first.get("links") or [] if isinstance(link, dict)]
        check = next((url for url in links if "/check/" in url), "")
        return Call("hook", call.started, call.ended, call.status, call.error, hook_instance, card, check)

    def feedback(self, session: requests.Session, card: str) -> Call:
        """Feedback that the card was overridden, now."""
        path = f"{self.service_path}/feedback"
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        item = {"card": card, "outcome": "overridden", "outcomeTimestamp": now}
        body = json.dumps({"feedback": [item]})
        call, _ = _post(session, f"{self.public_url}{path}", body, self.headers(path), self.cert)
        return Call("feedback", call.started, call.ended, call.status, call.error, card=card)


def _post(
    session: requests.Session, url: str, body: str, headers: dict[str, str], cert: Path
) -> tuple[Call, Any]:
    """POST and time it; (the call, its JSON answer or None)."""
    started = time.monotonic()
    try:
        response = session.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, verify=str(cert))
    except requests.RequestException as exc:
        return Call("", started, time.monotonic(), None, type(exc).__name__), None
    ended = time.monotonic()
    try:
        answer = response.json() if response.status_code == 200 else None
    except ValueError:
        return Call("", started, ended, response.status_code, "answer not JSON"), None
    return Call("", started, ended, response.status_code), answer


@dataclass
class LoadRun:
    """Every call of a load run, in the order they ended."""

    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        """Record a finished call."""
        with self.lock:
            self.calls.append(call)


def run_load(client: Client, *, concurrency: int, seconds: float) -> LoadRun:
    """Each thread: a hook call, then feedback on its card when there is one; until time is up."""
    run = LoadRun()
    stop = time.monotonic() + seconds

    def loop() -> None:
        with requests.Session() as session:
            while time.monotonic() < stop and len(run.calls) < MAX_CALLS:
                hook = client.hook(session)
                run.add(hook)
                if hook.card:
                    run.add(client.feedback(session, hook.card))

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 2 * TIMEOUT_SECONDS)
    return run


def replay(client: Client, first: str, second: str) -> tuple[int | None, int | None]:
    """One token sent to `first` then, unchanged, to `second`: the two statuses (want 200, 401)."""
    _, body = client.hook_body()
    headers = client.headers(client.service_path)
    statuses = []
    for base in (first, second):
        with requests.Session() as session:
            call, _ = _post(session, f"{base}{client.service_path}", body, headers, client.cert)
            statuses.append(call.status)
    return statuses[0], statuses[1]
