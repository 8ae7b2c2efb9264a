"""Charts drawn on the server as SVG: a bar chart with axes, grouped bars and a usage meter.

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


@dataclass(frozen=True, slots=True)
class GroupedBars:
    """Horizontal bars: one row per group, one bar per series in it (models side by side)."""

    id: str
    title: str
    description: str
    unit: str
    series: Sequence[str]
    #: (group label, one value per series)
    groups: Sequence[tuple[str, Sequence[float]]]


#: Grouped chart geometry: the label column, one bar's thickness and the gap between groups.
GROUP_LABEL_WIDTH = 220
GROUP_BAR = 10
GROUP_GAP = 10
#: Longest group label drawn; the full text is in the tooltip and the table.
GROUP_LABEL_CHARS = 32
#: Distinct series colours in style.css (chart-series-0 ... -5); more series repeat them.
SERIES_COLOURS = 6


def render_grouped_bars(chart: GroupedBars) -> Markup:
    """Draw ``chart`` as an accessible SVG with a legend; labels on the left can be long."""
    count = max(len(chart.series), 1)
    group_height = count * GROUP_BAR + GROUP_GAP
    legend_height = 22
    plot_top = MARGIN_TOP + legend_height
    plot_height = max(len(chart.groups), 1) * group_height
    # Below the plot: the tick labels, then the unit on a line of its own.
    height = plot_top + plot_height + MARGIN_BOTTOM + 14
    # Room on the right for half of the last tick's label, which can be ten digits long.
    left, right = GROUP_LABEL_WIDTH, WIDTH - 2 * MARGIN_RIGHT
    values = [v for _, row in chart.groups for v in row]
    top, step = axis_scale(max(values, default=0))

    def x_of(value: float) -> float:
        return left + (right - left) * (max(value, 0.0) / top)

    ident = escape(chart.id)
    parts = [
        f'<svg class="chart chart-grouped" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(chart.title)}</title>',
        f'<desc id="{ident}-desc">{escape(chart.description)}</desc>',
        '<g class="chart-legend" aria-hidden="true">',
    ]
    slot = (right - left) / count
    for index, name in enumerate(chart.series):
        x = left + index * slot
        parts.append(
            f'<rect class="chart-series-{index % SERIES_COLOURS}" x="{_n(x)}" '
            f'y="{MARGIN_TOP - 10}" width="10" height="10"/>'
            f'<text class="chart-label" x="{_n(x + 14)}" y="{MARGIN_TOP}">{escape(name)}</text>'
        )
    parts.append('</g><g class="chart-grid" aria-hidden="true">')
    base_y = plot_top + plot_height
    for tick in range(round(top / step) + 1):
        x = _n(x_of(step * tick))
        parts.append(
            f'<line x1="{x}" y1="{plot_top}" x2="{x}" y2="{_n(base_y)}"/>'
            f'<text class="chart-tick" x="{x}" y="{_n(base_y + 16)}" text-anchor="middle">'
            f'{escape(format_number(step * tick))}</text>'
        )
    parts.append(
        f'<text class="chart-unit" x="{_n((left + right) / 2)}" y="{_n(base_y + 34)}" '
        f'text-anchor="middle">{escape(chart.unit)}</text></g><g class="chart-bars">'
    )
    for row, (label, row_values) in enumerate(chart.groups):
        y = plot_top + row * group_height + GROUP_GAP / 2
        shown = label if len(label) <= GROUP_LABEL_CHARS else label[:GROUP_LABEL_CHARS - 1] + "…"
        parts.append(
            f'<g class="chart-group"><title>{escape(label)}</title>'
            f'<text class="chart-label" x="{left - 8}" y="{_n(y + count * GROUP_BAR / 2)}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(shown)}</text>'
        )
        for index, value in enumerate(row_values):
            name = chart.series[index] if index < len(chart.series) else ""
            parts.append(
                f'<rect class="chart-series-{index % SERIES_COLOURS}" x="{left}" '
                f'y="{_n(y + index * GROUP_BAR)}" width="{_n(x_of(value) - left)}" '
                f'height="{GROUP_BAR - 1}"><title>{escape(label)} · {escape(name)}: '
                f'{escape(format_number(value))} {escape(chart.unit)}</title></rect>'
            )
        parts.append("</g>")
    parts.append(
        f'</g><g class="chart-axis" aria-hidden="true"><line x1="{left}" y1="{plot_top}" '
        f'x2="{left}" y2="{_n(base_y)}"/></g></svg>'
    )
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
