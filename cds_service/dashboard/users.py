"""The dashboard's users file: user names and password hashes, nothing else.

A JSON object `{"users": {"<name>": {"password_hash": "scrypt:..."}}}`, written only by
`spine-cds users add|remove` (atomically, mode 0600). Passwords are hashed with werkzeug's scrypt
(salted, memory-hard); the plain password is never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

PASSWORD_METHOD = "scrypt"  # noqa: S105 (the hash method, not a password)
MIN_PASSWORD_LENGTH = 12
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# Checked when the user name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method=PASSWORD_METHOD)


class UsersFileError(ValueError):
    """The users file or a requested change is not valid; the message says why."""


@dataclass(frozen=True)
class UsersFile:
    """The users file at `path` (read on every use, so `users add|remove` apply without restart)."""

    path: Path

    def hashes(self) -> dict[str, str]:
        """{user name: password hash}; empty when the file does not exist yet."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            problem = type(error).__name__
            raise UsersFileError(f"{self.path}: not a readable users file ({problem})") from error
        users = raw.get("users") if isinstance(raw, dict) else None
        if not isinstance(users, dict):
            raise UsersFileError(f'{self.path}: expected {{"users": {{...}}}}')
        return {
            name: entry["password_hash"]
            for name, entry in users.items()
            if isinstance(entry, dict) and isinstance(entry.get("password_hash"), str)
        }

    def add(self, name: str, password: str) -> bool:
        """Add the user, or set a new password; True when the user is new."""
        if not USER_NAME.fullmatch(name):
            raise UsersFileError("a user name is 1-64 letters, digits, '.', '_', '@' or '-'")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UsersFileError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        users = self.hashes()
        new = name not in users
        users[name] = generate_password_hash(password, method=PASSWORD_METHOD)
        self._write(users)
        return new

    def remove(self, name: str) -> bool:
        """Remove the user; False when there was no such user."""
        users = self.hashes()
        if users.pop(name, None) is None:
            return False
        self._write(users)
        return True

    def check(self, name: str, password: str) -> str | None:
        """The user's stamp (see `stamp`) when the password is theirs; None otherwise."""
        stored = self.hashes().get(name)
        if stored is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return stamp(stored) if check_password_hash(stored, password) else None

    def current_stamp(self, name: str) -> str | None:
        """The stamp of the user's current password; None when the user is gone."""
        stored = self.hashes().get(name)
        return stamp(stored) if stored is not None else None

    def _write(self, users: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"users": {name: {"password_hash": users[name]} for name in sorted(users)}}
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(body, out, indent=2)
                out.write("\n")
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def stamp(password_hash: str) -> str:
    """A short digest of a password hash, kept in the session: a new password or a removed user
    ends every session signed in with the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
