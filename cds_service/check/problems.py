"""Why a red-flag check request was refused, with the page's wording (cards_templates/check/problems.json)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cds_service.cards.templating import templates_dir

# The problem shown for an HTTP error status raised outside the page's own checks.
_BY_STATUS = {404: "not-found", 405: "bad-request", 413: "too-large", 415: "not-a-form", 503: "unavailable"}


@cache
def _problems() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((templates_dir() / "check" / "problems.json").read_text("utf-8"))
    return raw["problems"]


class CheckProblem(Exception):
    """A request the red-flag check refuses; `reason` is a short metric label (problems.json key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        entry = _problems()[reason]
        self.reason = reason
        self.status = int(entry["status"])

    def words(self) -> dict[str, str]:
        """The page's title, message and advice."""
        entry = _problems()[self.reason]
        return {"title": entry["title"], "message": entry["message"], "advice": entry["advice"]}


def problem_for_status(status: int) -> CheckProblem:
    """The problem page for an HTTP error raised by the framework or the store."""
    if status >= 500 and status != 503:
        return CheckProblem("unavailable")
    return CheckProblem(_BY_STATUS.get(status, "bad-request"))
