"""docs/configuration.md is the operator's one list of settings: it must stay complete, and no other
page keeps a settings table of its own."""

from __future__ import annotations

import re

from cds_service import Settings
from tests.conftest import REPO

CONFIGURATION = REPO / "docs" / "configuration.md"
ROW = r"^\| `(SPINE_CDS_[A-Z_]+)` \| ([^|]+) \|"


def configuration_rows() -> list[tuple[str, str]]:
    """(variable, default) of every row of the table in docs/configuration.md."""
    return re.findall(ROW, CONFIGURATION.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_every_setting_is_documented_once_in_the_configuration_table() -> None:
    documented = [name for name, _ in configuration_rows()]
    settings = {f"SPINE_CDS_{name.upper()}" for name in Settings.model_fields}
    assert sorted(documented) == sorted(settings)
    assert len(documented) == len(set(documented))


def test_no_other_page_has_its_own_settings_table() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    elsewhere = [
        page.name
        for page in pages
        if page != CONFIGURATION and re.search(ROW, page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ]
    assert elsewhere == []


def test_the_documented_plain_defaults_are_the_real_ones() -> None:
    defaults = Settings.model_construct()
    for name, documented in configuration_rows():
        plain = re.fullmatch(r"`([^`]+)`", documented.strip())
        if plain is None:  # described in words, e.g. "(empty: ...)"
            continue
        field = name.removeprefix("SPINE_CDS_").lower()
        as_set = Settings.model_validate({field: plain.group(1)})  # read as the variable would be
        assert getattr(as_set, field) == getattr(defaults, field), name
