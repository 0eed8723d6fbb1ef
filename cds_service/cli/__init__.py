"""`spine-cds` command line: each sub-command lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cds_service.cli import check_link, db, demo, evaluate, knowledge, report, request, serve, users

COMMANDS = (serve, evaluate, demo, report, knowledge, check_link, request, db, users)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `spine-cds` console script."""
    parser = argparse.ArgumentParser(
        prog="spine-cds",
        description="CDS Hooks service advising on spinal imaging orders in primary care.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except BrokenPipeError:
        # The reader went away (`spine-cds knowledge show | head`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())
