"""`spine-cds report`: acceptance and override rates by pathway and override reason."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cds_service.settings import Settings
from cds_service.store.check_report import CheckReport, build_check_report
from cds_service.store.engine import open_engine, sqlite_file
from cds_service.store.migrate import current_revision
from cds_service.store.report import Report, build_report


def _since(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError("use a date such as 2026-11-01") from error
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def register(sub: Any) -> None:
    """Add the `report` sub-command."""
    parser = sub.add_parser(
        "report",
        help="acceptance and override rates by pathway and override reason, from the decision log",
    )
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL of the decision log (default: SPINE_CDS_DATABASE_URL)"
    )
    parser.add_argument("--since", type=_since, help="only decisions made on or after this date (UTC)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def format_report(report: Report) -> str:
    """The report as plain-text tables."""
    lines = ["Decisions and feedback by pathway", ""]
    header = ("pathway", "decisions", "cards", "feedback", "accepted", "overridden", "accept%", "override%")
    lines.append(f"{header[0]:<30}" + "".join(f"{h:>11}" for h in header[1:]))
    for p in report.pathways:
        cells = (p.decisions, p.cards_shown, p.with_feedback, p.accepted, p.overridden)
        rates = (_percent(p.acceptance_rate), _percent(p.override_rate))
        lines.append(f"{p.pathway:<30}" + "".join(f"{c:>11}" for c in (*cells, *rates)))
    if not report.pathways:
        lines.append("(no decisions logged)")
    lines += ["", "Override reasons (share of all overridden cards)", ""]
    total = sum(n for _, _, n in report.reasons)
    for reason, display, n in report.reasons:
        lines.append(f"{n:>6}  {n / total:>6.1%}  {reason}  {display}")
        for p in report.pathways:
            for (by_reason, _), count in p.override_reasons.items():
                if by_reason == reason:
                    lines.append(f"{'':>16}{count:>6} on {p.pathway}")
    if not report.reasons:
        lines.append("(no overrides)")
    if report.unmatched_feedback:
        lines += ["", f"Feedback on {report.unmatched_feedback} card(s) that match no logged decision"]
    return "\n".join(lines)


def format_check_report(check: CheckReport) -> str:
    """The red-flag check's part of the report as plain text."""
    lines = ["Red-flag check", "", f"answer sets stored: {check.answer_sets}", ""]
    lines.append(f"{'question':<32}{'yes':>8}{'no':>8}")
    for question, counts in sorted(check.questions.items()):
        lines.append(f"{question:<32}{counts.get('yes', 0):>8}{counts.get('no', 0):>8}")
    if not check.questions:
        lines.append("(no answers stored)")
    lines += [
        "",
        f"decisions that used answers: {check.decisions_with_answers}; "
        f"an answer changed the pathway: {check.pathway_changed}",
    ]
    for (without, with_answers), n in sorted(check.changes.items()):
        lines.append(f"{n:>6}  {without} -> {with_answers}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when there is no decision log to read."""
    url = args.database_url or Settings().database_url
    shown = make_url(url).render_as_string(hide_password=True)
    path = sqlite_file(make_url(url))
    if path is not None and not path.exists():
        print(f"No decision log at {shown}", file=sys.stderr)
        return 1
    engine = open_engine(url)
    try:
        if current_revision(engine) is None:
            print(f"{shown} holds no decision log (the service has not run against it)", file=sys.stderr)
            return 1
        report = build_report(engine, since=args.since)
        check = build_check_report(engine, since=args.since)
    except SQLAlchemyError as error:
        print(f"Cannot read the decision log at {shown}: {type(error).__name__}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({**report.to_json(), "redFlagCheck": check.to_json()}, indent=2))
    else:
        print(format_report(report) + "\n\n" + format_check_report(check))
    return 0
