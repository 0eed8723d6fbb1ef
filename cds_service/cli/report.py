"""`spine-cds report` (being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `report` sub-command."""
    parser = sub.add_parser("report", help="(being built)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Not built yet."""
    raise SystemExit("spine-cds report is not built yet")
