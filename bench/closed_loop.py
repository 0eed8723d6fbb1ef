"""The Python load generator of the HTTP benchmarks: fixed concurrency, closed loop, bounded.

Each thread sends its next call as soon as the last one returns, for a fixed time and never more
than `max_requests` calls in all. Only the HTTP exchange is timed: building the call (a fresh
hookInstance, a freshly signed JWT) happens before the clock starts.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

MAX_REQUESTS = 200_000  # hard cap whatever the duration

# The next call to send: its body (None for a GET) and its headers.
NextCall = Callable[[], tuple[str | None, dict[str, str]]]


@dataclass
class LoadResult:
    """What one load run saw: the latency of every 200 answer, the failures by kind, the wall time."""

    latencies: list[float] = field(default_factory=list)  # seconds
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def error_count(self) -> int:
        """Calls that did not get a 200."""
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        """Successful calls per second of wall time."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, percent: int) -> float:
        """The latency under which `percent` % of the successful calls finished, in ms."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[percent - 1] * 1000


def closed_loop(
    url: str, next_call: NextCall, *, concurrency: int, seconds: float, max_requests: int = MAX_REQUESTS
) -> LoadResult:
    """Send calls to `url` from `concurrency` threads for `seconds`; POST when the call has a body."""
    result = LoadResult()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    sent = [0]

    def one(session: requests.Session) -> None:
        data, headers = next_call()
        started = time.perf_counter()
        try:
            if data is None:
                response = session.get(url, headers=headers, timeout=10)
            else:
                response = session.post(url, data=data, headers=headers, timeout=10)
            outcome = "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        elapsed = time.perf_counter() - started
        with lock:
            if outcome == "ok":
                result.latencies.append(elapsed)
            else:
                result.errors[outcome] = result.errors.get(outcome, 0) + 1

    def loop() -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                with lock:
                    if sent[0] >= max_requests:
                        return
                    sent[0] += 1
                one(session)

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result
