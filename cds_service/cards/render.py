"""Card wording: one Jinja2 template per pathway in `cards_templates/`, editable without Python.

Every string that comes from the record or the client (displays, dates, order text) is escaped for
markdown here and for HTML by Jinja2's autoescape, because real clients (the CDS Hooks Sandbox)
render raw HTML inside `detail` (reference/cds-hooks.md section 4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.runtime

from cds_service.cards.catalogue import imaging_code
from cds_service.fhir.record import concept_text
from cds_service.knowledge import Knowledge
from cds_service.knowledge.guideline import Guideline
from cds_service.rules.model import Decision, Evidence, Modality, Region
from cds_service.rules.pathway_rules import load_pathway_rules

SUMMARY_LIMIT = 139  # the spec says "<140 characters"
_MARKDOWN_SPECIALS = re.compile(r"[\\`*_{}\[\]()#|~!]")
# Not r"\n{3,}": re finds a literal "\n\n\n" prefix quickly, a repeat count only by trying each
# character (ten times slower on a card's detail).
_BLANK_LINES = re.compile(r"\n\n\n+")


def templates_dir() -> Path:
    """Where the templates are: inside the installed package, else the source tree's top level."""
    installed = Path(str(resources.files("cds_service"))) / "cards_templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "cards_templates"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment, built once per process; undefined variables are errors.

    Templates are read once: without `auto_reload=False` every rendering would stat the template's
    file to see whether it changed. The macros of `_common.md.j2` are every template's `common`:
    they take all they need as arguments, so one module serves every card, where an `{% import %}`
    in each template looked the module up again on every rendering.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.globals["common"] = env.get_template("_common.md.j2").module
    return env


@cache
def template(name: str) -> jinja2.Template:
    """A compiled template, looked up once per process."""
    return environment().get_template(name)


@cache
def _globals() -> dict[str, Any]:
    """The environment's globals (`common`, Jinja2's `range`, ...) as a plain dict, once per process."""
    return dict(environment().globals)


@cache
def labels() -> dict[str, Any]:
    """Human labels for red flags, modalities and regions (cards_templates/labels.json)."""
    raw: dict[str, Any] = json.loads((templates_dir() / "labels.json").read_text("utf-8"))
    return raw


def markdown_text(value: object) -> str:
    """Record text made inert in markdown: one line, markdown punctuation backslash-escaped."""
    # str.split() splits on exactly the characters `\s` matches: runs of them become one space.
    return _MARKDOWN_SPECIALS.sub(_backslashed, " ".join(str(value).split()))


def _backslashed(found: re.Match[str]) -> str:
    # A function, not the template r"\\\1": re expands a template anew on every call (~25 a card).
    return "\\" + found.group()


@dataclass(frozen=True, slots=True)
class OrderWords:
    """`order` in the templates: the draft order as the card names it."""

    reference: str
    text: str
    modality: str
    modality_code: str
    is_mri: bool
    is_xray: bool
    regions: str


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One piece of evidence for a red flag: what, when and where in the record."""

    what: str
    date: str
    source: str
    reference: str


@dataclass(frozen=True, slots=True)
class FlagWords:
    """One red flag found in the record, with its evidence."""

    id: str
    label: str
    evidence: tuple[EvidenceLine, ...]


@dataclass(frozen=True, slots=True)
class DatedWords:
    """A finding and its date (recent bloods, the record of a death)."""

    what: str
    date: str


@dataclass(frozen=True, slots=True)
class SuggestedWords:
    """`suggested` in the templates: the names of the replacement tests for the order's regions."""

    mri: str
    xray: str


@dataclass(frozen=True, slots=True)
class GuidelineWords:
    """`guideline` in the templates: the source guideline."""

    label: str
    url: str
    version: str


# The template variables are objects with attributes rather than dicts: Jinja2 looks `order.modality`
# up as an attribute first and falls back to `order["modality"]` only after an AttributeError, which
# cost about a microsecond per lookup (some twenty a card).


@cache
def guideline_words(guideline: Guideline) -> GuidelineWords:
    """The guideline as the templates show it, built once per knowledge load."""
    return GuidelineWords(label=guideline.label, url=guideline.url, version=guideline.version)


@cache
def suggested_words(regions: tuple[Region, ...]) -> SuggestedWords:
    """The replacement tests' names for these regions, made inert for markdown once per process."""
    return SuggestedWords(
        mri=markdown_text(imaging_code("mri", regions).text),
        xray=markdown_text(imaging_code("xray", regions).text),
    )


@cache
def _knowledge_questions() -> dict[str, str]:
    """Every ask-about question of the pathway rules, made inert for markdown once per process."""
    rules = load_pathway_rules()
    return {q.question: markdown_text(q.question) for q in (*rules.ask_about, *rules.ask_when_unmeasured)}


def _question_text(question: str) -> str:
    # The questions are knowledge, the same on most cards: escaped once, not eight times a card.
    known = _knowledge_questions().get(question)
    return known if known is not None else markdown_text(question)


@dataclass(frozen=True, slots=True)
class CardWording:
    """The rendered wording of one card, and what describes its actions in the same context."""

    summary: str
    detail: str
    labels: dict[str, str]
    describe: Callable[[str], str]


def one_sentence(text: str) -> str:
    """A summary on one line within the spec's limit (templates should already be short)."""
    flat = " ".join(text.split())
    if len(flat) <= SUMMARY_LIMIT:
        return flat
    return flat[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _order_text(decision: Decision) -> str:
    text = concept_text(decision.order.resource.get("code"))
    if not text:
        text = decision.order.matched.display or ""
    return markdown_text(text) if text else ""


def _evidence_lines(evidence: tuple[Evidence, ...]) -> tuple[EvidenceLine, ...]:
    lines = (
        EvidenceLine(
            what=markdown_text(ev.what),
            date=markdown_text(ev.date[:10]) if ev.date else "",
            source=markdown_text(ev.source),
            reference=markdown_text(ev.reference) if ev.reference else "",
        )
        for ev in evidence
    )
    # The same finding can reach a flag by two routes (e.g. a code and a note): show it once.
    return tuple(dict.fromkeys(lines))


def card_context(
    decision: Decision, knowledge: Knowledge, *, hook: str, suggested: SuggestedWords
) -> dict[str, Any]:
    """The variables every pathway template sees (documented in cards_templates/README.md)."""
    names = labels()
    order = decision.order
    regions = [names["regions"].get(r.value, r.value) for r in order.regions]
    return {
        "pathway": decision.pathway.value,
        "rating": decision.rating.value,
        "hook": hook,
        "order": OrderWords(
            reference=markdown_text(order.reference),
            text=_order_text(decision),
            modality=names["modalities"][order.modality.value],
            modality_code=order.modality.value,
            is_mri=order.modality == Modality.MRI,
            is_xray=order.modality == Modality.XRAY,
            regions=" and ".join(regions) or names["regions"]["unspecified"],
        ),
        "red_flags": [
            FlagWords(
                id=flag.id.value,
                label=names["red_flags"].get(flag.id.value, flag.id.value),
                evidence=_evidence_lines(flag.evidence),
            )
            for flag in decision.red_flags
        ],
        "ask_about": [_question_text(a.question) for a in decision.ask_about],
        "not_checked": [markdown_text(n) for n in decision.not_checked],
        "rationale": markdown_text(decision.rationale) if decision.rationale else "",
        "recent_bloods": [
            DatedWords(what=markdown_text(ev.what), date=markdown_text(ev.date[:10]) if ev.date else "")
            for ev in decision.recent_infection_bloods
        ],
        "suggested": suggested,
        "deceased": (
            DatedWords(what=markdown_text(decision.deceased.what), date=decision.deceased.date or "")
            if decision.deceased
            else None
        ),
        "guideline": guideline_words(knowledge.guideline),
    }


def render_card(pathway: str, context: dict[str, Any]) -> CardWording:
    """Render a pathway's template: its `summary`, `detail` and `label_<suggestion>` variables."""
    card = template(f"{pathway}.md.j2")
    # The environment's globals merged here from a plain dict, the context then shared: Jinja2 would
    # otherwise merge its ChainMap of globals into a new dict key by key on every rendering (a fifth
    # of the rendering's cost). No template has globals of its own.
    rendering = card.new_context({**_globals(), **context}, shared=True)
    # The template's own output is layout whitespace: what counts are the variables it sets.
    "".join(card.root_render_func(rendering))
    parts = rendering.vars
    return CardWording(
        summary=one_sentence(str(parts["summary"])),
        detail=_BLANK_LINES.sub("\n\n", str(parts["detail"]).strip()) + "\n",
        labels={
            name.removeprefix("label_").replace("_", "-"): one_sentence(str(value))
            for name, value in parts.items()
            if name.startswith("label_")
        },
        describe=_action_describer(rendering),
    )


def _action_describer(rendering: jinja2.runtime.Context) -> Callable[[str], str]:
    """Describe one card's actions (`cards_templates/actions.md.j2`, block `<kind>`).

    Only the blocks the card's actions need are rendered, in the card's own template context (a
    block reads only the variables, which are the same): a second context cost as much as a block.
    """
    actions = template("actions.md.j2")
    described: dict[str, str] = {}  # "cancel-order" is asked for by every suggestion that cancels

    def describe(kind: str) -> str:
        found = described.get(kind)
        if found is None:
            block = actions.blocks[kind.replace("-", "_")]
            found = described[kind] = one_sentence("".join(block(rendering)))
        return found

    return describe
