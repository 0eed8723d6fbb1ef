"""Every pathway template renders, for every ordered modality, within the CDS Hooks limits."""

from __future__ import annotations

import pytest

from cds_service import Settings
from cds_service.cards import build_card
from cds_service.cards.suggestions import plan_card
from cds_service.cards.templating import templates_dir
from cds_service.knowledge import load_knowledge
from cds_service.rules.model import Evidence, Modality, Pathway
from tests.card_decisions import decision

LOUD = Settings(auth="off", quiet_when_supported=False)
RECENT_CRP = (Evidence("Observation/crp1", "C reactive protein 4 mg/L", None, "2025-02-27", "observation"),)


@pytest.mark.parametrize("modality", list(Modality))
@pytest.mark.parametrize("pathway", list(Pathway))
@pytest.mark.parametrize("not_checked", [(), ("medications could not be read",)])
def test_every_pathway_renders_within_spec_limits(
    pathway: Pathway, modality: Modality, not_checked: tuple[str, ...]
) -> None:
    knowledge = load_knowledge()
    for bloods in ((), RECENT_CRP):
        d = decision(pathway, modality, not_checked=not_checked, recent_bloods=bloods)
        card = build_card(d, knowledge=knowledge, settings=LOUD, hook="order-select")
        assert card is not None
        assert 0 < len(card.summary) < 140
        assert "\n" not in card.summary
        assert card.detail and card.detail.strip()
        assert "{{" not in card.detail and "{%" not in card.detail
        for item in not_checked:
            assert item in card.detail
        plan = plan_card(d)
        assert len(card.suggestions or []) == len(plan.suggestion_keys)
        for suggestion in card.suggestions or []:
            assert 0 < len(suggestion.label) < 140
            for action in suggestion.actions or []:
                assert action.description.strip()


def test_every_pathway_has_its_own_template() -> None:
    names = {p.name for p in templates_dir().glob("*.md.j2")}
    for pathway in Pathway:
        assert f"{pathway.value}.md.j2" in names


def test_template_readme_documents_the_variables() -> None:
    readme = (templates_dir() / "README.md").read_text("utf-8")
    for variable in ("order.modality", "red_flags", "ask_about", "not_checked", "recent_bloods", "suggested"):
        assert variable in readme
