"""`spine-cds evaluate` (being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `evaluate` sub-command."""
    parser = sub.add_parser("evaluate", help="(being built)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Not built yet."""
    raise SystemExit("spine-cds evaluate is not built yet")
