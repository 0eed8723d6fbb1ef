"""`spine-cds serve`: the service in the foreground under gunicorn (Flask's dev server with --debug)."""

from __future__ import annotations

import argparse
import logging
import secrets
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from pydantic import SecretStr

from cds_service.app import create_app, freeze_startup_heap
from cds_service.settings import Settings

log = logging.getLogger("cds_service.serve")


def with_server_keys(settings: Settings) -> Settings:
    """Settings whose unset keys get one random value for the whole server, made before the workers
    fork: every worker then signs check links and hashes patient ids alike (still not across nodes
    or restarts, which is why it is a warning)."""
    update: dict[str, SecretStr] = {}
    for name, variable in (
        ("secret_key", "SPINE_CDS_SECRET_KEY"),
        ("patient_hash_key", "SPINE_CDS_PATIENT_HASH_KEY"),
    ):
        if getattr(settings, name) is None:
            log.warning(
                "%s is not set: a random key for this server's workers only; set it on every node", variable
            )
            update[name] = SecretStr(secrets.token_urlsafe(32))
    return settings.model_copy(update=update) if update else settings


class ProductionServer(BaseApplication):
    """gunicorn run programmatically, so `spine-cds serve` needs no separate config file."""

    def __init__(self, app_factory: Any, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the command-line options to gunicorn's configuration."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Build the app in each worker (so each worker has its own database pool and caches)."""
        app: Flask = self.app_factory()
        freeze_startup_heap()
        return app


def register(sub: Any) -> None:
    """Add the `serve` sub-command."""
    parser = sub.add_parser(
        "serve",
        help="run the CDS Hooks service (settings from SPINE_CDS_* environment variables)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--timeout", type=int, default=30, help="seconds before gunicorn restarts a stuck worker (default 30)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="Flask's development server with reloading (never in production)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; settings come from the environment."""
    settings = Settings()  # read once in the master, so a bad setting fails before any worker starts
    if args.debug:
        create_app(settings).run(host=args.host, port=args.port, debug=True)
        return 0
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "timeout": args.timeout,
        "accesslog": None,  # the app logs one JSON line per request itself, without patient data
        "errorlog": "-",
    }
    keyed = with_server_keys(settings)
    ProductionServer(lambda: create_app(keyed), options).run()
    return 0
