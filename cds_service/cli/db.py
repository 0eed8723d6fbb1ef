"""`spine-cds db upgrade|check`: the decision log's schema, for operators who migrate it themselves.

The service brings the schema to head when it starts; an operator who upgrades a release can run
`spine-cds db upgrade` first (once, from one machine) and `spine-cds db check` in a deployment
pipeline or a readiness script: exit 0 when the database is at the revision this release needs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cds_service.settings import Settings
from cds_service.store.engine import open_engine, sqlite_file
from cds_service.store.migrate import MIGRATIONS, current_revision, head_revision, upgrade_to_head

EXIT_BEHIND = 1  # reachable, but not at this release's revision
EXIT_UNREACHABLE = 2


def register(sub: Any) -> None:
    """Add the `db` sub-command with its `upgrade` and `check` actions."""
    parser = sub.add_parser("db", help="upgrade or check the decision log's schema (SPINE_CDS_DATABASE_URL)")
    actions = parser.add_subparsers(dest="action", required=True)
    upgrade = actions.add_parser("upgrade", help="run every migration the database has not had yet")
    check = actions.add_parser(
        "check", help="exit 0 when the database is at this release's revision, else 1 (2: unreachable)"
    )
    for action, run in ((upgrade, run_upgrade), (check, run_check)):
        action.add_argument(
            "--database-url", help="SQLAlchemy URL of the decision log (default: SPINE_CDS_DATABASE_URL)"
        )
        action.set_defaults(run=run)


def _url(args: argparse.Namespace) -> str:
    url: str = args.database_url or Settings().database_url
    return url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _known(revision: str) -> bool:
    """Whether this release ships the revision (a newer release's database holds one it does not)."""
    try:
        return ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
    except CommandError:
        return False


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the schema to head; print where it was and where it is."""
    url = _url(args)
    engine = open_engine(url)
    try:
        before = current_revision(engine)
        upgrade_to_head(engine)
        after = current_revision(engine)
    except SQLAlchemyError as error:
        print(f"Cannot upgrade the database at {_shown(url)}: {type(error).__name__}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except CommandError:  # the database names a revision this release does not ship
        print(f"{_shown(url)} was made by a newer release: not changed", file=sys.stderr)
        return EXIT_BEHIND
    finally:
        engine.dispose()
    if before == after:
        print(f"{_shown(url)} is already at revision {after} (head): nothing to do")
    else:
        print(f"{_shown(url)} upgraded from revision {before or '(empty)'} to {after} (head)")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 when the database is at head; else say what to do and exit non-zero."""
    url = _url(args)
    head = head_revision()
    path = sqlite_file(make_url(url))
    if path is not None and not path.exists():  # checking must not create the file
        print(f"No database at {_shown(url)}: run `spine-cds db upgrade` to create it", file=sys.stderr)
        return EXIT_BEHIND
    engine = open_engine(url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        print(f"Cannot reach the database at {_shown(url)}: {type(error).__name__}", file=sys.stderr)
        return EXIT_UNREACHABLE
    finally:
        engine.dispose()
    if current == head:
        print(f"{_shown(url)} is at revision {head} (head): up to date")
        return 0
    if current is None:
        problem = "has no decision log schema yet"
    elif not _known(current):
        print(
            f"{_shown(url)} is at revision {current}, which this release does not know: it was made by a "
            f"newer release (this one needs {head}); run that release, or restore a matching backup",
            file=sys.stderr,
        )
        return EXIT_BEHIND
    else:
        problem = f"is at revision {current}"
    print(
        f"{_shown(url)} {problem}; this release needs revision {head}: run `spine-cds db upgrade`",
        file=sys.stderr,
    )
    return EXIT_BEHIND
