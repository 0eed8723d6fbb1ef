"""Card wording: one Jinja2 template per pathway in `cards_templates/`, editable without Python.

Every string that comes from the record or the client (displays, dates, order text) is escaped for
markdown here and for HTML as Jinja2's autoescape would, because real clients (the CDS Hooks Sandbox)
render raw HTML inside `detail` (reference/cds-hooks.md section 4).

A template is rendered once per process for each set of knowledge-derived facts (`CardFacts`), with
markers where record text goes; each card then only fills its own text in (`cds_service.cards.filling`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cache, lru_cache

from cds_service.cards.catalogue import imaging_code
from cds_service.cards.filling import MarkedText, RecordTexts
from cds_service.cards.templating import labels, markdown_text, template, template_globals
from cds_service.fhir.record import concept_text
from cds_service.knowledge import Knowledge
from cds_service.knowledge.guideline import Guideline
from cds_service.rules.model import Decision, Evidence, Modality, Region, Suspicion
from cds_service.rules.pathway_rules import load_pathway_rules

SUMMARY_LIMIT = 139  # the spec says "<140 characters"
# Not r"\n{3,}": re finds a literal "\n\n\n" prefix quickly, a repeat count only by trying each
# character (ten times slower on a card's detail).
_BLANK_LINES = re.compile(r"\n\n\n+")


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
class SuspicionWords:
    """One suspected condition in the GP's words: 'Suspected spinal malignancy', and the flags behind it."""

    condition: str  # the code (suspected-condition CodeSystem)
    level: str  # low / moderate / high
    name: str  # "spinal malignancy"
    headline: str  # "Suspected spinal malignancy" (level word + name)
    flags: tuple[str, ...]  # the labels of the red flags behind it


@lru_cache(maxsize=256)
def suspicion_words(suspicion: Suspicion) -> SuspicionWords:
    """A suspicion as the card names it (knowledge only: made once per kind of suspicion)."""
    names = labels()
    name = names["suspected_conditions"][suspicion.condition.value]
    return SuspicionWords(
        condition=suspicion.condition.value,
        level=suspicion.level.value,
        name=name,
        headline=f"{names['suspicion_levels'][suspicion.level.value]} {name}",
        flags=tuple(names["red_flags"].get(f.value, f.value) for f in suspicion.flags),
    )


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


def _question_text(question: str, texts: RecordTexts) -> str:
    # The questions are knowledge, the same on most cards: escaped once, not eight times a card, and
    # part of the facts a rendering is kept for. Any other question is treated as record text.
    known = _knowledge_questions().get(question)
    return known if known is not None else texts.marker(markdown_text(question))


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


def _evidence_lines(evidence: tuple[Evidence, ...], texts: RecordTexts) -> tuple[EvidenceLine, ...]:
    lines = (
        (
            markdown_text(ev.what),
            markdown_text(ev.date[:10]) if ev.date else "",
            markdown_text(ev.source),
            markdown_text(ev.reference) if ev.reference else "",
        )
        for ev in evidence
    )
    # The same finding can reach a flag by two routes (e.g. a code and a note): show it once.
    return tuple(
        EvidenceLine(
            what=texts.marker(what),
            date=texts.marker(date),
            source=texts.marker(source),
            reference=texts.marker(reference),
        )
        for what, date, source, reference in dict.fromkeys(lines)
    )


# The same few orders on every card: what the knowledge says of them is looked up once per process.
# `reference` and `text` are markers (RecordTexts.marker), never record text.
@lru_cache(maxsize=256)
def _order_words(modality: Modality, regions: tuple[Region, ...], *, reference: str, text: str) -> OrderWords:
    names = labels()
    return OrderWords(
        reference=reference,
        text=text,
        modality=names["modalities"][modality.value],
        modality_code=modality.value,
        is_mri=modality == Modality.MRI,
        is_xray=modality == Modality.XRAY,
        regions=" and ".join(names["regions"].get(r.value, r.value) for r in regions)
        or names["regions"]["unspecified"],
    )


@dataclass(frozen=True, slots=True)
class CardFacts:
    """The variables a pathway template sees (cards_templates/README.md), record text as markers.

    Facts hold codes and wording from the knowledge (pathway, modality, regions, red flag ids and
    labels, questions, guideline) and, for each piece of record text, only a numbered marker or ""
    when there is none: no text, id or date of a patient. Cards with equal facts differ only in the
    text filled into their markers, which is why one rendering per facts serves them all.
    """

    pathway: str
    rating: str
    hook: str
    order: OrderWords
    red_flags: tuple[FlagWords, ...]
    ask_about: tuple[str, ...]
    answered: bool  # the red-flag check's answers were applied
    not_checked: tuple[str, ...]
    rationale: str
    recent_bloods: tuple[DatedWords, ...]
    suggested: SuggestedWords
    deceased: DatedWords | None
    guideline: GuidelineWords
    # What is suspected, the one the pathway follows first; `suspicion` is that first one when it is
    # moderate or high (the card's first line names it), else None.
    suspicions: tuple[SuspicionWords, ...] = ()
    suspicion: SuspicionWords | None = None


def card_facts(
    decision: Decision, knowledge: Knowledge, *, hook: str, suggested: SuggestedWords, texts: RecordTexts
) -> CardFacts:
    """The template variables of a decision's card; its record text goes into `texts`."""
    names = labels()
    order = decision.order
    marker = texts.marker
    suspicions = tuple(suspicion_words(s) for s in decision.suspicions)
    return CardFacts(
        pathway=decision.pathway.value,
        rating=decision.rating.value,
        hook=hook,
        order=_order_words(
            order.modality,
            order.regions,
            reference=marker(markdown_text(order.reference)),
            text=marker(_order_text(decision)),
        ),
        red_flags=tuple(
            FlagWords(
                id=flag.id.value,
                label=names["red_flags"].get(flag.id.value, flag.id.value),
                evidence=_evidence_lines(flag.evidence, texts),
            )
            for flag in decision.red_flags
        ),
        ask_about=tuple(_question_text(a.question, texts) for a in decision.ask_about),
        answered=decision.answers_used is not None,
        not_checked=tuple(marker(markdown_text(n)) for n in decision.not_checked),
        rationale=marker(markdown_text(decision.rationale)) if decision.rationale else "",
        recent_bloods=tuple(
            DatedWords(
                what=marker(markdown_text(ev.what)),
                date=marker(markdown_text(ev.date[:10]) if ev.date else ""),
            )
            for ev in decision.recent_infection_bloods
        ),
        suggested=suggested,
        deceased=(
            DatedWords(
                what=marker(markdown_text(decision.deceased.what)), date=marker(decision.deceased.date or "")
            )
            if decision.deceased
            else None
        ),
        guideline=guideline_words(knowledge.guideline),
        suspicions=suspicions,
        suspicion=suspicions[0] if suspicions and suspicions[0].level != "low" else None,
    )


@dataclass(frozen=True, slots=True)
class _Sentence:
    """A one-line piece of wording (summary, button label, action description) with markers."""

    text: MarkedText
    finished: str | None  # the sentence itself when it has nothing to fill in

    @classmethod
    def of(cls, rendered: str) -> _Sentence:
        text = MarkedText.of(rendered)
        return cls(text, one_sentence(rendered) if text.pattern is None else None)

    def fill(self, values: list[str]) -> str:
        # Cut to one sentence after filling: the limit counts the record text too.
        return self.finished if self.finished is not None else one_sentence(self.text.fill(values))


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A pathway template rendered for one set of facts, markers in place of record text."""

    summary: _Sentence
    detail: MarkedText
    labels: dict[str, _Sentence]  # by suggestion key ("cancel-order", ...)
    actions: dict[str, _Sentence]  # by action kind ("cancel-order", "update-to-mri", ...)


# Bounded: the facts of real cards are few (pathway x modality x regions x flags found x questions),
# but a record with many kinds of evidence could make many; a miss only costs one rendering.
# The keys carry no patient data: record text reaches `CardFacts` only as numbered markers.
@lru_cache(maxsize=512)
def _rendered(facts: CardFacts) -> _Rendered:
    card = template(f"{facts.pathway}.md.j2")
    variables = {field.name: getattr(facts, field.name) for field in fields(facts)}
    rendering = card.new_context({**template_globals(), **variables}, shared=True)
    # The template's own output is layout whitespace: what counts are the variables it sets.
    "".join(card.root_render_func(rendering))
    parts = rendering.vars
    # The action descriptions are rendered in the card's own context: a block reads only the variables.
    actions = template("actions.md.j2")
    return _Rendered(
        summary=_Sentence.of(str(parts["summary"])),
        detail=MarkedText.of(_BLANK_LINES.sub("\n\n", str(parts["detail"]).strip()) + "\n"),
        labels={
            name.removeprefix("label_").replace("_", "-"): _Sentence.of(str(value))
            for name, value in parts.items()
            if name.startswith("label_")
        },
        actions={
            name.replace("_", "-"): _Sentence.of("".join(block(rendering)))
            for name, block in actions.blocks.items()
        },
    )


@dataclass(frozen=True, slots=True)
class CardWording:
    """The wording of one card: its summary and detail, its buttons' labels and actions' descriptions."""

    summary: str
    detail: str
    _rendered: _Rendered
    _values: list[str]

    def label(self, suggestion: str) -> str:
        """The button text of a suggestion ("cancel-order", ...), set by the pathway's template."""
        return self._rendered.labels[suggestion].fill(self._values)

    def describe(self, kind: str) -> str:
        """An action's description ("cancel-order", "update-to-mri"...: cards_templates/actions.md.j2)."""
        return self._rendered.actions[kind].fill(self._values)


def render_card(facts: CardFacts, texts: RecordTexts) -> CardWording:
    """A card's wording: its pathway template's rendering for these facts, with its record text filled in."""
    rendered = _rendered(facts)
    return CardWording(
        summary=rendered.summary.fill(texts.values),
        detail=rendered.detail.fill(texts.values),
        _rendered=rendered,
        _values=texts.values,
    )
