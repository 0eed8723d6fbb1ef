"""Two spine-cds nodes behind nginx (TLS) on one PostgreSQL, loaded, one node killed and restarted.

    .venv/bin/python bench/cluster_demo.py [--seconds 60] [--concurrency 8] [--kill-at 0.4]

Run by scripts/cluster-demo.sh (which installs PostgreSQL and nginx first). Everything listens on
127.0.0.1; client authentication is ON (a throwaway ES384 key in a trusted-issuers file, a fresh
JWT per call). The load is hook calls, each followed by feedback on its card; at `--kill-at` of the
run node "b" gets SIGKILL (master and workers), and it is restarted a second later. Then: calls
until the restarted node serves again, the same token sent to both nodes, and the database read.

Prints the figures and exits 1 when an invariant breaks: a failed call that was not in flight on
the killed node; a node that served nothing; acknowledged feedback not stored exactly once; an
acknowledged hook call without exactly one decision logged; a replayed token accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' server helpers and client key

from bench.cluster_load import Call, Client, replay, run_load  # noqa: E402
from bench.cluster_parts import (  # noqa: E402
    ClusterError,
    Node,
    Proxy,
    make_certificate,
    nginx_config,
    site_config,
    start_database,
)
from cds_service.samples import load_sample  # noqa: E402
from tests.client_keys import ClientKey  # noqa: E402
from tests.fixtures.postgres import remove_cluster  # noqa: E402
from tests.servers import free_port  # noqa: E402

SAMPLE = REPO / "sample_bundles" / "03-xray-for-suspected-metastases.json"  # answers with a card
ISSUER = "https://cluster-demo.invalid"
RESTART_AFTER_SECONDS = 1.0
REJOIN_SECONDS = 30.0
REPLAYS = 3


def node_environment(public_url: str, issuers: Path, database_url: str) -> dict[str, str]:
    """The nodes' settings (as in deploy/systemd/spine-cds.env.example), the same on both nodes."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_CDS_")}
    return {
        **inherited,
        "SPINE_CDS_AUTH": "on",
        "SPINE_CDS_PUBLIC_URL": public_url,
        "SPINE_CDS_TRUSTED_ISSUERS": str(issuers),
        "SPINE_CDS_DATABASE_URL": database_url,
        "SPINE_CDS_PATIENT_HASH_KEY": secrets.token_hex(32),
        "SPINE_CDS_SECRET_KEY": secrets.token_hex(32),
        "SPINE_CDS_LOG_LEVEL": "INFO",
    }


def served_from_log(node: Node, start_index: int = 0) -> Counter[int]:
    """Statuses of the CDS Hooks calls in a node's access log, from its `start_index`-th start on."""
    text = node.log.read_bytes()[node.starts[start_index] :].decode(errors="replace")
    statuses: Counter[int] = Counter()
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("logger") == "cds_service.access" and str(entry.get("route", "")).startswith(
            "/cds-services"
        ):
            statuses[int(entry["status"])] += 1
    return statuses


def served_from_proxy(proxy: Proxy, since: float = 0.0) -> Counter[str]:
    """200 answers per node address in nginx's access log (the node that finally answered)."""
    served: Counter[str] = Counter()
    for stamp, status, uri, nodes in proxy.log_entries():
        if stamp >= since and status == 200 and uri.startswith("/cds-services"):
            served[nodes[-1]] += 1
    return served


def rejoin(client: Client, proxy: Proxy, node: Node, restarted_at: float) -> int:
    """Hook calls through the proxy until the restarted node answers one (bounded); calls sent."""
    address = f"127.0.0.1:{node.port}"
    deadline = time.monotonic() + REJOIN_SECONDS
    sent = 0
    with requests.Session() as session:
        while time.monotonic() < deadline and sent < 1000:
            client.hook(session)
            sent += 1
            if served_from_proxy(proxy, since=restarted_at)[address]:
                return sent
            time.sleep(0.05)
    return sent


def open_check_link_on_each_node(client: Client, proxy: Proxy, nodes: list[Node]) -> list[int]:
    """A card's red-flag check link (signed by whichever node answered) opened on every node."""
    with requests.Session() as session:
        link = client.hook(session).check_link
    if not link.startswith(proxy.url):
        return []
    return [requests.get(node.url + link.removeprefix(proxy.url), timeout=10).status_code for node in nodes]


def database_counts(url: str, hook_instances: list[str], cards: list[str]) -> dict[str, int]:
    """How many acknowledged hook calls / feedback items are stored exactly once, and the totals."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            decisions: Counter[str] = Counter(
                dict(conn.execute(sa.text("SELECT hook_instance, count(*) FROM decisions GROUP BY 1")).all())
            )
            feedback: Counter[str] = Counter(
                dict(conn.execute(sa.text("SELECT card_uuid, count(*) FROM feedback GROUP BY 1")).all())
            )
    finally:
        engine.dispose()
    return {
        "decisions_total": sum(decisions.values()),
        "hooks_logged_once": sum(1 for h in hook_instances if decisions[h] == 1),
        "feedback_total": sum(feedback.values()),
        "feedback_stored_once": sum(1 for c in cards if feedback[c] == 1),
    }


def check(failures: list[str], ok: bool, message: str) -> None:
    """Print one invariant's verdict; remember the broken ones."""
    print(f"  [{'ok' if ok else 'BROKEN'}] {message}")
    if not ok:
        failures.append(message)


def main() -> int:
    """Set up the cluster, load it, kill and restart a node, and check every invariant."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (default 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--kill-at", type=float, default=0.4, help="when node b is killed, as a share of the run"
    )
    args = parser.parse_args()
    if not (args.seconds > 0 and 0 < args.kill_at < 1 and 1 <= args.concurrency <= 64):
        parser.error("need --seconds > 0, 0 < --kill-at < 1 and 1 <= --concurrency <= 64")

    with tempfile.TemporaryDirectory(prefix="spine-cds-cluster-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)  # PostgreSQL (user postgres) and nginx's workers (nobody) work below it
        signer = ClientKey("ES384", "cluster-demo-key", iss=ISSUER)
        issuers = root / "trusted-issuers.json"
        issuers.write_text(json.dumps({ISSUER: {"jwks": {"keys": [signer.jwk]}}}))
        proxy = Proxy(root / "nginx", free_port(), free_port())
        database, database_url = start_database(root / "postgres", secrets.token_urlsafe(18))
        env = node_environment(proxy.url, issuers, database_url)
        nodes = [Node(name, free_port(), env, root / f"node-{name}.log") for name in ("a", "b")]
        try:
            for node in nodes:
                node.start()
            cert, key = make_certificate(root)
            site = site_config(nodes, proxy.https_port, proxy.http_port, cert, key)
            proxy.start(nginx_config(proxy.root, site), cert)
            print(f"cluster: nginx {proxy.url} (TLS) -> nodes a {nodes[0].url}, b {nodes[1].url}")
            print(f"         PostgreSQL 127.0.0.1:{database.port}; client authentication on")
            return run_demo(
                args, Client(signer, proxy.url, cert, load_sample(SAMPLE).request), proxy, nodes, database_url
            )
        finally:
            proxy.stop()
            for node in nodes:
                node.stop()
            remove_cluster(database)


@dataclass
class Run:
    """What the run saw: the load's calls, the kill's times, what the proxy, nodes and database hold."""

    nodes: list[Node]
    calls: list[Call]
    events: dict[str, float]
    stored: dict[str, int]
    rejoin_calls: int = 0
    replays: list[tuple[int | None, int | None]] = field(default_factory=list)
    redirect_status: int = 0
    check_link_statuses: list[int] = field(default_factory=list)  # one link opened on each node

    def of(self, kind: str, *, ok: bool | None = None) -> list[Call]:
        """The load's calls of one kind, all of them or only those answered 200 (ok) or not."""
        calls = [c for c in self.calls if c.kind == kind]
        return calls if ok is None else [c for c in calls if (c.status == 200 and not c.error) == ok]

    @property
    def failed(self) -> list[Call]:
        """Calls of the load that did not get a 200."""
        return [c for c in self.calls if c.status != 200 or c.error]

    @property
    def in_flight(self) -> list[Call]:
        """Failed calls in flight when node b died: sent before its last process was gone, ended
        after the kill."""
        return [
            c for c in self.failed if c.started < self.events["dead"] and c.ended >= self.events["killed"]
        ]


def load_with_a_kill(args: argparse.Namespace, client: Client, node: Node, database_url: str) -> Run:
    """The bounded load through the proxy; `node` killed and restarted in the middle of it."""
    events: dict[str, float] = {}

    def kill_and_restart() -> None:
        time.sleep(args.seconds * args.kill_at)
        events["killed"] = time.monotonic()
        node.kill()
        events["dead"] = time.monotonic()
        time.sleep(RESTART_AFTER_SECONDS)
        events["restart"] = time.time()  # wall clock: nginx's log is compared with it
        node.start()
        events["ready"] = time.monotonic()

    killer = threading.Thread(target=kill_and_restart, daemon=True)
    events["started"] = time.monotonic()
    killer.start()
    load = run_load(client, concurrency=args.concurrency, seconds=args.seconds)
    killer.join(timeout=120)
    events["ended"] = time.monotonic()
    if "ready" not in events:
        raise ClusterError(f"node {node.name} did not come back:\n{node.log_tail()}")
    hooks = [c.hook_instance for c in load.calls if c.kind == "hook" and c.status == 200 and not c.error]
    cards = [c.card for c in load.calls if c.kind == "feedback" and c.status == 200 and not c.error]
    stored = database_counts(database_url, hooks, cards)  # before any further call
    return Run([], load.calls, events, stored)


def report(run: Run, proxy: Proxy, concurrency: int) -> list[str]:
    """Print the figures and the invariants; the broken invariants."""
    b = run.nodes[1]
    events, failed = run.events, run.failed
    elapsed = events["ended"] - events["started"]
    by_proxy = served_from_proxy(proxy)
    by_log = {node.name: served_from_log(node) for node in run.nodes}
    b_after = sum(served_from_log(b, start_index=1).values())
    killed_at, dying = events["killed"] - events["started"], events["dead"] - events["killed"]
    back = events["ready"] - events["killed"]
    print(f"\nload: {elapsed:.1f} s, {concurrency} clients; node b killed at {killed_at:.1f} s, dead "
          f"{1000 * dying:.0f} ms later, ready again {back:.1f} s after the kill")  # fmt: skip
    hooks, feedback = run.of("hook"), run.of("feedback")
    print(f"calls: {len(hooks)} hook, {len(feedback)} feedback; {len(run.calls) / elapsed:.0f} calls/s")
    latencies = sorted(c.ended - c.started for c in run.of("hook", ok=True))
    if len(latencies) >= 2:
        p50, p99 = (1000 * q for q in statistics.quantiles(latencies, n=100)[49::49])
        print(f"hook calls through the proxy (TLS, JWT, PostgreSQL): p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    for node in run.nodes:
        log = by_log[node.name]
        print(f"node {node.name}: {by_proxy[f'127.0.0.1:{node.port}']} calls answered 200 through nginx; "
              f"its own log: {dict(sorted(log.items()))}")  # fmt: skip
    print(
        f"node b after its restart: {b_after} calls ({run.rejoin_calls} sent after the load to see it rejoin)"
    )
    moved = sum(1 for _, status, _, nodes in proxy.log_entries() if status == 200 and len(nodes) > 1)
    print(f"calls nginx passed to the other node because the first refused the connection: {moved}")
    share = 100 * len(failed) / max(1, len(run.calls))
    kinds = dict(Counter(f"{c.kind} {c.error or c.status}" for c in failed))
    print(f"errors: {len(failed)} of {len(run.calls)} calls ({share:.2f}%) {kinds}; "
          f"in flight on node b when it was killed: {len(run.in_flight)}")  # fmt: skip
    for call in failed:
        if call not in run.in_flight:
            sent, ended = call.started - events["killed"], call.ended - events["killed"]
            print(
                f"  not in flight at the kill: {call.kind} sent {sent:+.2f} s, ended {ended:+.2f} s from it"
            )
    print(f"decisions logged: {run.stored['decisions_total']} for {len(hooks)} hook calls, "
          f"{len(run.of('hook', ok=True))} answered 200, "
          f"{run.stored['hooks_logged_once']} of these logged exactly once")  # fmt: skip
    print(f"feedback: {len(run.of('feedback', ok=True))} acknowledged with 200, "
          f"{run.stored['feedback_stored_once']} of these stored exactly once; "
          f"{run.stored['feedback_total']} rows")  # fmt: skip
    print(f"replayed tokens (first, second answer): {Counter(run.replays)}")

    proxy_failures = [nodes[-1] for _, status, _, nodes in proxy.log_entries() if status >= 500]
    broken: list[str] = []
    print("\ninvariants:")
    check(broken, failed == run.in_flight, "every failed call was in flight when node b was killed")
    check(broken, len(failed) <= concurrency, "at most one failure per client")
    check(broken, all(c.status == 502 for c in failed), "every failure is nginx's 502, nothing else")
    check(
        broken,
        len(proxy_failures) == len(failed) and set(proxy_failures) <= {f"127.0.0.1:{b.port}"},
        "nginx logged every failure as node b's",
    )
    check(broken, len(by_proxy) == 2 and min(by_proxy.values()) > 0, "both nodes served calls")
    check(broken, b_after > 0, "node b served calls again after its restart")
    check(broken, sum(log[500] for log in by_log.values()) == 0, "no 500 in any node's log")
    answered, logged = len(run.of("hook", ok=True)), run.stored["hooks_logged_once"]
    check(broken, answered == logged, "every hook call answered 200 has its decision logged exactly once")
    acknowledged, stored = len(run.of("feedback", ok=True)), run.stored["feedback_stored_once"]
    check(broken, acknowledged == stored > 0, "every feedback acknowledged with 200 is stored exactly once")
    check(broken, set(run.replays) == {(200, 401)}, "a token is accepted once, whichever node gets it again")
    check(
        broken,
        run.check_link_statuses == [200] * len(run.nodes),
        f"a card's red-flag check link opens on every node {run.check_link_statuses}",
    )
    check(broken, run.redirect_status == 301, "plain HTTP is redirected to HTTPS")
    print("\nall invariants hold" if not broken else f"\n{len(broken)} invariant(s) broken")
    return broken


def run_demo(
    args: argparse.Namespace, client: Client, proxy: Proxy, nodes: list[Node], database_url: str
) -> int:
    """The load with node b killed, its rejoin, the replays across nodes; the report."""
    a, b = nodes
    run = load_with_a_kill(args, client, b, database_url)
    run.nodes = nodes
    run.rejoin_calls = rejoin(client, proxy, b, run.events["restart"])
    run.replays = [replay(client, first.url, second.url) for first, second in [(a, b), (b, a)] * REPLAYS]
    run.replays += [replay(client, proxy.url, proxy.url) for _ in range(REPLAYS)]
    run.check_link_statuses = open_check_link_on_each_node(client, proxy, nodes)
    plain = f"http://127.0.0.1:{proxy.http_port}/cds-services"
    run.redirect_status = requests.get(plain, allow_redirects=False, timeout=5).status_code
    return 1 if report(run, proxy, args.concurrency) else 0


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    sys.exit(143)  # unwinds through the finally blocks that stop nginx, the nodes and PostgreSQL


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        sys.exit(main())
    except ClusterError as error:
        print(f"cluster demo could not run: {error}", file=sys.stderr)
        sys.exit(2)
