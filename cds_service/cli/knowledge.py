"""`spine-cds knowledge validate|show`: check the knowledge files, list the value sets."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from cds_service.knowledge import knowledge_directory, read_knowledge
from cds_service.knowledge.validation import validate_knowledge


def register(sub: Any) -> None:
    """Add the `knowledge` sub-command and its `validate` and `show` actions."""
    parser = sub.add_parser("knowledge", help="check or list the clinical knowledge files")
    actions = parser.add_subparsers(dest="action", required=True)
    validate = actions.add_parser("validate", help="check every knowledge file (exit 1 on any problem)")
    show = actions.add_parser("show", help="list value sets with code counts and verification marks")
    for action in (validate, show):
        action.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="knowledge directory to read (default: the one installed with the package)",
        )
    validate.set_defaults(run=run_validate)
    show.set_defaults(run=run_show)
    parser.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Validate the knowledge files; print each problem and a summary."""
    directory = args.dir or knowledge_directory()
    report = validate_knowledge(directory)
    for problem in report.problems:
        print(f"problem: {problem}")
    if report.guideline_overdue:
        print("warning: the guideline's review date has passed; the clinical lead must re-check it")
    status = "OK" if report.ok else f"FAILED ({len(report.problems)} problems)"
    print(f"knowledge {status}: {report.summary()}")
    return 0 if report.ok else 1


def run_show(args: argparse.Namespace) -> int:
    """Print one line per value set: id, code count by verification mark, text patterns, title."""
    knowledge = read_knowledge(args.dir or knowledge_directory())
    for value_set in sorted(knowledge.value_sets.values(), key=lambda v: v.id):
        marks = Counter(c.verification or "unmarked" for c in value_set.concepts)
        counts = ", ".join(f"{n} {mark}" for mark, n in sorted(marks.items()))
        print(
            f"{value_set.id:<36} {len(value_set.concepts):>4} codes ({counts}); "
            f"{len(value_set.text_patterns)} text patterns; {value_set.title}"
        )
    print(f"{len(knowledge.thresholds)} thresholds; guideline {knowledge.guideline.version}")
    return 0
