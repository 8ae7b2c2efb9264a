"""Server-side SVG charts: bars, axes, labels, accessible text, escaping, no inline styles."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from dashboard.charts import (
    Bar,
    BarChart,
    GroupedBars,
    axis_scale,
    format_number,
    render_bar_chart,
    render_grouped_bars,
    render_meter,
)

SVG = "{http://www.w3.org/2000/svg}"


def chart(values: list[float], **kwargs: str) -> BarChart:
    bars = [Bar(value=v, label=f"h{i}" if i % 2 == 0 else "", title=f"hour {i}: {v}")
            for i, v in enumerate(values)]
    return BarChart(
        id=kwargs.get("id", "c1"), title=kwargs.get("title", "Records per hour"),
        description=kwargs.get("description", "a test chart"), unit="records/hour", bars=bars,
    )


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML, or this raises


def test_one_bar_per_value_with_its_tooltip_and_labels() -> None:
    root = parse(render_bar_chart(chart([0, 30, 120, 60])))
    bars = root.findall(f".//{SVG}rect[@class='chart-bar']")
    assert len(bars) == 4
    titles = [t.text for t in root.findall(f".//{SVG}g[@class='chart-slot']/{SVG}title")]
    assert titles == ["hour 0: 0", "hour 1: 30", "hour 2: 120", "hour 3: 60"]
    labels = [t.text for t in root.findall(f".//{SVG}text[@class='chart-label']")]
    assert labels == ["h0", "h2"]


def test_bar_heights_follow_values_on_a_round_axis() -> None:
    root = parse(render_bar_chart(chart([0, 30, 120, 60])))
    bars = root.findall(f".//{SVG}rect[@class='chart-bar']")
    heights = [float(r.get("height", "")) for r in bars]
    assert heights[0] == 0
    assert heights[2] == pytest.approx(4 * heights[1])
    assert heights[2] == pytest.approx(2 * heights[3])
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='chart-tick']")]
    assert ticks == ["0", "50", "100", "150"]  # 120 fits under a round 150
    # Bars stand on the x axis: every bar ends at the same baseline.
    bottoms = {round(float(r.get("y", "")) + float(r.get("height", "")), 2)
               for r in root.findall(f".//{SVG}rect[@class='chart-bar']")}
    assert len(bottoms) == 1


def test_accessible_title_and_description() -> None:
    root = parse(render_bar_chart(chart([1, 2], id="tp", title="Records", description="two bars")))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "tp-title tp-desc"
    assert root.find(f"{SVG}title").text == "Records"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "two bars"  # type: ignore[union-attr]


def test_text_is_escaped_and_no_inline_style() -> None:
    attack = '<script>alert(1)</script>"'
    markup = str(render_bar_chart(chart([1], title=attack, description=attack)))
    parse(markup)
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "style=" not in markup and "<style" not in markup
    meter = str(render_meter(0.4, attack, 0.5))
    assert "<script>" not in meter and "style=" not in meter


def test_empty_chart_still_draws_axes() -> None:
    root = parse(render_bar_chart(chart([0, 0, 0])))
    assert len(root.findall(f".//{SVG}rect[@class='chart-bar']")) == 3
    assert [t.text for t in root.findall(f".//{SVG}text[@class='chart-tick']")] == [
        "0", "1", "2", "3", "4"]


def test_meter_fills_to_the_share_and_marks_the_limit() -> None:
    root = parse(render_meter(0.28, "28% used", 0.5))
    assert root.get("aria-label") == "28% used"
    fill = root.find(f"{SVG}rect[@class='meter-fill']")
    assert fill is not None and fill.get("width") == "28"
    limit = root.find(f"{SVG}line[@class='meter-limit']")
    assert limit is not None and limit.get("x1") == "50"
    over = parse(render_meter(1.7, "170% used", 0.5))
    over_fill = over.find(f"{SVG}rect[@class='meter-fill meter-over']")
    assert over_fill is not None and over_fill.get("width") == "100"
    assert parse(render_meter(0.1, "10%")).find(f"{SVG}line") is None


@pytest.mark.parametrize(
    ("maximum", "top", "step"),
    [(0, 4, 1), (7, 8, 2), (120, 150, 50), (100, 100, 25), (0.17, 0.2, 0.05),
     (12_345, 15_000, 5_000)],
)
def test_axis_scale_is_round(maximum: float, top: float, step: float) -> None:
    assert axis_scale(maximum) == pytest.approx((top, step))


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (120, "120"), (1234.5, "1,234.5"), (0.1666, "0.17"), (20.0, "20")]
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_bar_count_in_markup() -> None:
    assert len(re.findall(r'class="chart-bar"', str(render_bar_chart(chart([1] * 24))))) == 24


def test_grouped_bars_draw_one_bar_per_series_in_each_group_to_scale() -> None:
    chart = GroupedBars(
        id="g1", title="Pipeline per campaign", description="two models", unit="pipeline",
        series=["first_touch", "w_shaped"],
        groups=[("Ads", [1000.0, 500.0]), ('<b>Webinar</b> & "Co"', [0.0, 250.0])],
    )
    root = parse(render_grouped_bars(chart))
    groups = root.findall(f".//{SVG}g[@class='chart-group']")
    assert [g.find(f"{SVG}title").text for g in groups] == [  # type: ignore[union-attr]
        "Ads", '<b>Webinar</b> & "Co"']
    widths = [[float(r.get("width", "")) for r in g.findall(f"{SVG}rect")] for g in groups]
    assert widths[0][0] == pytest.approx(2 * widths[0][1])
    assert widths[1][0] == 0 and widths[1][1] == pytest.approx(widths[0][1] / 2)
    tips = [r.find(f"{SVG}title").text for r in groups[1].findall(f"{SVG}rect")]  # type: ignore[union-attr]
    assert tips == ['<b>Webinar</b> & "Co" · first_touch: 0 pipeline',
                    '<b>Webinar</b> & "Co" · w_shaped: 250 pipeline']
    legend = [t.text for t in root.findall(f".//{SVG}g[@class='chart-legend']/{SVG}text")]
    assert legend == ["first_touch", "w_shaped"]
    assert "style=" not in str(render_grouped_bars(chart))
