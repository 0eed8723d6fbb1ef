"""`spine-cds users add|remove NAME`: manage who may sign in to the dashboard."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from cds_service.dashboard.users import UsersFile, UsersFileError
from cds_service.settings import Settings


def register(sub: Any) -> None:
    """Add the `users` sub-command and its `add` and `remove` actions."""
    parser = sub.add_parser("users", help="manage the dashboard's users (SPINE_CDS_DASHBOARD_USERS)")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user or set a new password (asked for, never an argument)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of a prompt",
    )
    remove = actions.add_parser("remove", help="remove a user (their sessions end at once)")
    for action in (add, remove):
        action.add_argument("name", help="user name")
        action.add_argument(
            "--file",
            type=Path,
            default=None,
            help="users file (default: SPINE_CDS_DASHBOARD_USERS)",
        )
    add.set_defaults(run=run_add)
    remove.set_defaults(run=run_remove)


def _users_file(args: argparse.Namespace) -> UsersFile | None:
    path = args.file or (Path(p) if (p := Settings().dashboard_users) else None)
    if path is None:
        print("error: name the users file with --file or SPINE_CDS_DASHBOARD_USERS", file=sys.stderr)
        return None
    return UsersFile(path)


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Repeat the password: ") != first:
        print("error: the passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def run_add(args: argparse.Namespace) -> int:
    """Add the user (or change their password) in the users file."""
    users = _users_file(args)
    password = _password(args) if users is not None else None
    if users is None or password is None:
        return 2
    try:
        new = users.add(args.name, password)
    except UsersFileError as error:
        print(f"error: {error}; nothing changed", file=sys.stderr)
        return 2
    print(f"{'added' if new else 'new password for'} {args.name} in {users.path}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove the user from the users file."""
    users = _users_file(args)
    if users is None:
        return 2
    try:
        removed = users.remove(args.name)
    except UsersFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not removed:
        print(f"error: no user {args.name} in {users.path}", file=sys.stderr)
        return 1
    print(f"removed {args.name} from {users.path}")
    return 0
