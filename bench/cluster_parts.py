"""The parts of the loopback cluster of `scripts/cluster-demo.sh`: PostgreSQL, spine-cds nodes, nginx.

Each part is the real thing as deployed (deploy/): PostgreSQL set up by deploy/postgres/setup.sql,
`spine-cds serve` nodes configured as deploy/systemd/spine-cds.env.example says, and nginx running
deploy/nginx/sites-available/spine-cds with only addresses, ports and certificate paths replaced.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.fixtures.postgres import PostgresCluster, _pg_bin, remove_cluster
from tests.servers import SPINE_CDS, free_port

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
SITE = DEPLOY / "nginx" / "sites-available" / "spine-cds"
SNIPPETS = DEPLOY / "nginx" / "snippets"
NGINX = Path("/usr/sbin/nginx")
READY_SECONDS = 60.0


class ClusterError(RuntimeError):
    """A part of the cluster could not be set up or started."""


class Database(PostgresCluster):
    """A throwaway cluster whose TCP logins need a password (scram), set up by deploy/postgres/setup.sql."""

    def init(self, *authentication: str) -> None:
        """initdb: trust on the Unix socket (for the set-up), scram-sha-256 over TCP (for the nodes)."""
        super().init(*(authentication or ("--auth-local=trust", "--auth-host=scram-sha-256")))

    def set_up_service_database(self, password: str) -> str:
        """Run deploy/postgres/setup.sql over the socket; the service's URL (role spine_cds, over TCP)."""
        script = self.root / "setup.sql"  # a copy the postgres user can read
        shutil.copy(DEPLOY / "postgres" / "setup.sql", script)
        os.chmod(script, 0o644)
        self._run(
            str(self.bin_dir / "psql"),
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-v",
            f"password={password}",
            "-f",
            str(script),
        )
        return f"postgresql+psycopg://spine_cds:{password}@127.0.0.1:{self.port}/spine_cds"


def start_database(root: Path, password: str) -> tuple[Database, str]:
    """A started throwaway PostgreSQL with the service's role and database; (cluster, service URL)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise ClusterError("PostgreSQL is not installed (scripts/bootstrap.sh --test installs it)")
    database = Database(bin_dir, root, free_port())
    try:
        database.init()
        database.start()
        return database, database.set_up_service_database(password)
    except subprocess.CalledProcessError as error:
        remove_cluster(database)  # stop it if it started
        raise ClusterError(f"PostgreSQL set-up failed: {error.stderr.decode(errors='replace')}") from error


@dataclass
class Node:
    """One `spine-cds serve` node: its own process group, so a kill takes its workers with it."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None
    starts: list[int] = field(default_factory=list)  # log size at each start
    retired: bool = False  # stopped for good: never started again (e.g. by the restart thread)

    @property
    def url(self) -> str:
        """The node's own base URL (plain HTTP on loopback, behind nginx)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the node (appending to its log) and wait until /readyz answers 200."""
        if self.retired:
            raise ClusterError(f"node {self.name} was stopped for good")
        self.starts.append(self.log.stat().st_size if self.log.exists() else 0)
        command = [str(SPINE_CDS), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--workers", str(self.workers)],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(f"node {self.name} exited; its log ends:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ClusterError(f"node {self.name} not ready in {READY_SECONDS:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole node (gunicorn master and workers), as when its machine dies; return
        once its port refuses connections (every process of the group is gone)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the node for good, gracefully (SIGTERM to the master), killing it after 30 s."""
        self.retired = True
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the node's log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl); (certificate, key)."""
    cert, key = directory / "proxy.pem", directory / "proxy.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def site_config(nodes: list[Node], https_port: int, http_port: int, cert: Path, key: Path) -> str:
    """The shipped site file with loopback addresses, ports and the certificate put in."""
    text = SITE.read_text()
    originals = [line for line in text.splitlines() if line.strip().startswith("server 10.0.0.")]
    if len(originals) != 2:
        raise ClusterError(f"{SITE}: expected the two example upstream servers")
    options = originals[0].split(None, 2)[2]
    servers = "\n".join(f"    server 127.0.0.1:{node.port} {options}" for node in nodes)
    text = text.replace(originals[0] + "\n" + originals[1], servers)
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/etc/ssl/certs/cds.example.org.pem": str(cert),
        "/etc/ssl/private/cds.example.org.key": str(key),
        "/etc/nginx/snippets/": f"{SNIPPETS}/",
    }
    for old, new in replacements.items():
        if old not in text:
            raise ClusterError(f"{SITE}: no {old!r} to replace")
        text = text.replace(old, new)
    return text


def nginx_config(root: Path, site: str) -> str:
    """A whole nginx.conf around the site: files under `root`, an access log naming each upstream."""
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    temp = root / "temp"
    return f"""{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$msec|$status|$request_method|$uri|$upstream_addr|$upstream_status';
    access_log {root}/access.log upstreams;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{site}
}}
"""


@dataclass
class Proxy:
    """nginx in the foreground with the shipped site configuration."""

    root: Path
    https_port: int
    http_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The public URL clients call."""
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def access_log(self) -> Path:
        """One line per request, fields separated by |: time, status, method, path, the nodes tried
        (comma-separated, the one that answered last) and their statuses."""
        return self.root / "access.log"

    def log_entries(self) -> list[tuple[float, int, str, list[str]]]:
        """(time, status, path, the nodes tried in order) of each request in the access log."""
        entries = []
        for line in self.access_log.read_text().splitlines():
            stamp, status, _method, uri, upstreams, _statuses = line.split("|")
            nodes = [node.strip() for node in upstreams.split(",")]
            entries.append((float(stamp), int(status), uri, nodes))
        return entries

    def start(self, config: str, cert: Path) -> None:
        """Check the configuration (nginx -t), start nginx and wait until it answers over TLS."""
        if not NGINX.exists():
            raise ClusterError("nginx is not installed (apt-get install nginx)")
        (self.root / "temp").mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root / "temp", nobody.pw_uid, nobody.pw_gid)
        conf = self.root / "nginx.conf"
        conf.write_text(config)
        base = [str(NGINX), "-p", str(self.root), "-e", str(self.root / "error.log"), "-c", str(conf)]
        check = subprocess.run([*base, "-t"], check=False, capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise ClusterError(f"nginx -t refused the configuration:\n{check.stderr}")
        self.process = subprocess.Popen([*base, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1, verify=str(cert)).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise ClusterError(f"nginx did not answer on {self.url}: {(self.root / 'error.log').read_text()}")

    def stop(self) -> None:
        """Stop nginx (SIGQUIT: graceful)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
