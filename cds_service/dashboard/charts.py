"""Charts drawn on the server as SVG: no script, nothing fetched, printable, styled by the page's CSS.

Each chart has a title and a text description for screen readers; the page puts the same numbers
in a table next to it. Series colours are CSS classes (`series-0` ...), so the stylesheet (and its
print rules) decides them and no inline style is needed under the page's CSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40


@dataclass(frozen=True)
class Series:
    """One stacked layer: its name and one value per category."""

    name: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _number(value: float) -> str:
    return f"{value:,.0f}"


def stacked_columns(
    chart_id: str, title: str, categories: Sequence[str], series: Sequence[Series], description: str
) -> Markup:
    """Vertical stacked bars, one column per category (e.g. weeks), one colour per series."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(categories), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>'
        )
    label_every = max(1, len(categories) // 12)
    for i, category in enumerate(categories):
        x = LEFT + slot * i + (slot - bar) / 2
        y = TOP + plot_h
        for index, layer in enumerate(series):
            value = layer.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect class="series-{index}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(category)}: {escape(layer.name)} {_number(value)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(category)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape())


def stacked_rows(
    chart_id: str, title: str, categories: Sequence[str], series: Sequence[Series], description: str
) -> Markup:
    """Horizontal stacked bars, one row per category (e.g. pathways), as shares of the row's total."""
    row_h, label_w = 26, 230
    height = TOP + row_h * len(categories) + 8
    plot_w = WIDTH - label_w - RIGHT
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for i, category in enumerate(categories):
        y = TOP + row_h * i
        total = sum(s.values[i] for s in series)
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(category)}</text>"
        )
        x = float(label_w)
        for index, layer in enumerate(series):
            value = layer.values[i]
            if value <= 0 or total <= 0:
                continue
            w = plot_w * value / total
            parts.append(
                f'<rect class="series-{index}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}">'
                f"<title>{escape(category)}: {escape(layer.name)} {_number(value)}</title></rect>"
            )
            x += w
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape())


def legend(series: Sequence[Series]) -> Markup:
    """The colour key of a chart's series, as a list."""
    items = "".join(
        f'<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect class="series-{i}" '
        f'width="10" height="10"/></svg>{escape(s.name)}</li>'
        for i, s in enumerate(series)
    )
    return Markup(f'<ul class="legend">{items}</ul>')  # noqa: S704 (names escaped above)
