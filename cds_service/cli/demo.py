"""`spine-cds demo` (being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `demo` sub-command."""
    parser = sub.add_parser("demo", help="(being built)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Not built yet."""
    raise SystemExit("spine-cds demo is not built yet")
