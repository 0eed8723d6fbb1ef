"""The card templates' Jinja2 environment, their labels, and markdown escaping of record text.

Templates live in `cards_templates/` (inside the installed package, else the source tree's top
level) and are compiled once per process.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

_MARKDOWN_SPECIALS = re.compile(r"[\\`*_{}\[\]()#|~!]")


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
def template_globals() -> dict[str, Any]:
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
