"""The README's "Configuration" table is the operator's one list of settings: it must stay complete."""

from __future__ import annotations

import re

from cds_service import Settings
from tests.conftest import REPO


def configuration_rows() -> list[tuple[str, str]]:
    """(variable, default) of every row of the table in the README's "## Configuration" section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(SPINE_CDS_[A-Z_]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)


def test_every_setting_is_documented_once_in_the_configuration_table() -> None:
    documented = [name for name, _ in configuration_rows()]
    settings = {f"SPINE_CDS_{name.upper()}" for name in Settings.model_fields}
    assert sorted(documented) == sorted(settings)
    assert len(documented) == len(set(documented))


def test_no_other_section_has_its_own_settings_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `SPINE_CDS_[A-Z_]+` \|", readme, flags=re.MULTILINE)
    assert len(rows) == len(configuration_rows())


def test_the_documented_plain_defaults_are_the_real_ones() -> None:
    defaults = Settings.model_construct()
    for name, documented in configuration_rows():
        plain = re.fullmatch(r"`([^`]+)`", documented.strip())
        if plain is None:  # described in words, e.g. "(empty: ...)"
            continue
        field = name.removeprefix("SPINE_CDS_").lower()
        as_set = Settings.model_validate({field: plain.group(1)})  # read as the variable would be
        assert getattr(as_set, field) == getattr(defaults, field), name
