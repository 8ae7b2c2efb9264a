"""Charts drawn on the server as SVG: a bar chart with axes and a usage meter.

Nothing is loaded at run time (no CDN, no script): the page carries the finished drawing.
Colours and fonts come from CSS classes in ``style.css``; geometry uses SVG presentation
attributes, so the strict ``default-src 'self'`` CSP needs no ``style-src`` exception. Every
text is escaped here, because the result is inserted into templates as Markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Drawing units of the bar chart's viewBox; the SVG scales to its container's width.
WIDTH = 720
HEIGHT = 220
#: Room for the y-axis labels (left) and the x-axis labels (bottom).
MARGIN_LEFT = 56
MARGIN_RIGHT = 24  # half a label: the last boundary's label is centred on the right edge
MARGIN_TOP = 20
MARGIN_BOTTOM = 28
#: Gap between bars as a share of one bar's slot.
BAR_GAP = 0.2
Y_TICKS = 4


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its value, the axis label under it (may be empty) and its tooltip text."""

    value: float
    label: str
    title: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """A titled series of bars sharing one unit (``records/hour``)."""

    id: str  # unique on the page: names the <title>/<desc> elements for aria-labelledby
    title: str
    description: str
    unit: str
    bars: Sequence[Bar]


def format_number(value: float) -> str:
    """Group thousands and keep at most two decimals: 1,234 · 12.5 · 0.17."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def axis_scale(maximum: float, ticks: int = Y_TICKS) -> tuple[float, float]:
    """The y-axis top and tick step: a round step (1, 2, 2.5 or 5 × 10ⁿ) that fits ``maximum``.

    An empty chart (maximum 0) still gets a readable 0–4 axis.
    """
    if maximum <= 0:
        return float(ticks), 1.0
    raw = maximum / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if raw <= m * power * (1 + 1e-9))
    return step * math.ceil(maximum / step - 1e-9), step


def render_bar_chart(chart: BarChart) -> Markup:
    """Draw ``chart`` as an accessible SVG: titled, described, one tooltip per bar."""
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top, step = axis_scale(max((bar.value for bar in chart.bars), default=0))
    base_y = MARGIN_TOP + plot_height
    slot = plot_width / max(len(chart.bars), 1)

    def y_of(value: float) -> float:
        return base_y - plot_height * (value / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" aria-labelledby="{escape(chart.id)}-title {escape(chart.id)}-desc">',
        f'<title id="{escape(chart.id)}-title">{escape(chart.title)}</title>',
        f'<desc id="{escape(chart.id)}-desc">{escape(chart.description)}</desc>',
        '<g class="chart-grid" aria-hidden="true">',
    ]
    for tick in range(round(top / step) + 1):
        value = step * tick
        y = _n(y_of(value))
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y}" x2="{WIDTH - MARGIN_RIGHT}" y2="{y}"/>'
            f'<text class="chart-tick" x="{MARGIN_LEFT - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(format_number(value))}</text>'
        )
    parts.append("</g>")
    parts.append(
        f'<text class="chart-unit" x="{MARGIN_LEFT}" y="{MARGIN_TOP - 8}" '
        f'aria-hidden="true">{escape(chart.unit)}</text>'
    )
    parts.append('<g class="chart-bars">')
    for index, bar in enumerate(chart.bars):
        x = MARGIN_LEFT + index * slot
        height = base_y - y_of(bar.value)
        # The invisible full-height slot carries the tooltip, so thin bars are easy to hover.
        parts.append(
            f'<g class="chart-slot"><title>{escape(bar.title)}</title>'
            f'<rect class="chart-hit" x="{_n(x)}" y="{MARGIN_TOP}" width="{_n(slot)}" '
            f'height="{plot_height}"/>'
            f'<rect class="chart-bar" x="{_n(x + slot * BAR_GAP / 2)}" y="{_n(base_y - height)}" '
            f'width="{_n(slot * (1 - BAR_GAP))}" height="{_n(height)}"/></g>'
        )
    parts.append("</g>")
    parts.append(
        f'<g class="chart-axis" aria-hidden="true"><line x1="{MARGIN_LEFT}" y1="{base_y}" '
        f'x2="{WIDTH - MARGIN_RIGHT}" y2="{base_y}"/>'
    )
    for index, bar in enumerate(chart.bars):
        if bar.label:
            # A bar's label names where it starts, so it sits on that boundary, with a tick.
            x = _n(MARGIN_LEFT + index * slot)
            parts.append(
                f'<line x1="{x}" y1="{base_y}" x2="{x}" y2="{base_y + 4}"/>'
                f'<text class="chart-label" x="{x}" y="{base_y + 16}" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
    parts.append("</g></svg>")
    return Markup("".join(parts))


def render_meter(share: float, label: str, limit: float | None = None) -> Markup:
    """A horizontal bar filled to ``share`` (0–1), with a mark at ``limit`` when one is set.

    ``label`` is read out by screen readers (``"42% of the daily API allowance used"``).
    """
    filled = min(max(share, 0.0), 1.0) * 100
    over = limit is not None and share >= limit
    parts = [
        '<svg class="meter" viewBox="0 0 100 10" preserveAspectRatio="none" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        '<rect class="meter-track" x="0" y="0" width="100" height="10"/>',
        f'<rect class="meter-fill{" meter-over" if over else ""}" x="0" y="0" '
        f'width="{_n(filled)}" height="10"/>',
    ]
    if limit is not None:
        mark = _n(min(max(limit, 0.0), 1.0) * 100)
        parts.append(f'<line class="meter-limit" x1="{mark}" y1="0" x2="{mark}" y2="10"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _n(value: float) -> str:
    """A coordinate with at most two decimals, without trailing zeros (smaller markup)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
