"""The knowledge panel: the guideline's version and review date, and each knowledge file's version."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from importlib.resources.abc import Traversable

from flask import Flask

from cds_service.app_parts import knowledge_of, service_version
from cds_service.knowledge import knowledge_directory


@dataclass(frozen=True)
class KnowledgeFile:
    """One knowledge file and the first 12 hex digits of its SHA-256 (its content version)."""

    name: str
    digest: str


@dataclass(frozen=True)
class KnowledgeInUse:
    """What the service's advice is built from right now."""

    guideline_label: str
    guideline_url: str
    checked: date
    next_review: date
    overdue: bool
    service_version: str
    files: list[KnowledgeFile]


def _files(directory: Traversable, prefix: str = "") -> list[KnowledgeFile]:
    found = []
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found.extend(_files(entry, f"{prefix}{entry.name}/"))
        elif entry.name.endswith(".json"):
            digest = hashlib.sha256(entry.read_bytes()).hexdigest()[:12]
            found.append(KnowledgeFile(prefix + entry.name, digest))
    return found


def knowledge_in_use(app: Flask, today: date) -> KnowledgeInUse:
    """The guideline and knowledge files loaded by the app (file digests computed once)."""
    cached: KnowledgeInUse | None = app.extensions.get("spine_cds.dashboard_knowledge")
    knowledge = knowledge_of(app)
    guideline = knowledge.guideline
    if cached is None:
        cached = KnowledgeInUse(
            guideline_label=guideline.label,
            guideline_url=guideline.url,
            checked=guideline.checked,
            next_review=guideline.next_review,
            overdue=False,
            service_version=service_version(),
            files=_files(knowledge_directory()),
        )
        app.extensions["spine_cds.dashboard_knowledge"] = cached
    return KnowledgeInUse(**{**cached.__dict__, "overdue": guideline.review_overdue(today)})
