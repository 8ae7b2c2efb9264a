"""Which touches a deal's journey keeps, in what order, and who holds FT, LC, OC and CW."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from attribution import Deal, TouchPoint, find_positions, select_touches
from tests.attribution.journeys import NOW, at, deal, touch


def ids(touches: tuple[TouchPoint, ...]) -> list[str]:
    return [t.id for t in touches]


def test_the_lookback_starts_exactly_lookback_days_before_the_creation() -> None:
    touches = [touch("too-early", 100 - 30.001), touch("first-day", 70), touch("later", 90)]
    assert ids(select_touches(deal(100), touches, 30, NOW)) == ["first-day", "later"]


def test_a_closed_deal_keeps_touches_up_to_the_end_of_its_close_day_in_utc() -> None:
    touches = [touch("morning", 10.2), touch("last-second", 10.99999), touch("next-day", 11)]
    assert ids(select_touches(deal(5, closed=10), touches, 365, NOW)) == [
        "morning", "last-second"]


def test_a_close_date_given_as_a_datetime_counts_by_its_utc_day() -> None:
    # 23:30 on day 10 in UTC-05:00 is day 11 04:30 UTC: the close day is day 11 in UTC.
    close = (at(10) + timedelta(hours=28, minutes=30)).astimezone(timezone(timedelta(hours=-5)))
    the_deal = Deal("D", at(0), close, is_closed=True)
    kept = select_touches(the_deal, [touch("d11-evening", 11.9), touch("d12", 12.01)], 365, NOW)
    assert ids(kept) == ["d11-evening"]


def test_an_open_deal_keeps_touches_up_to_now() -> None:
    touches = [touch("past", 10), touch("future", 250)]
    assert ids(select_touches(deal(5), touches, 365, NOW)) == ["past"]


def test_touches_are_ordered_by_time_then_id_whatever_the_input_order() -> None:
    touches = [touch("b", 3), touch("c", 1), touch("a", 3), touch("d", 2)]
    assert ids(select_touches(deal(5), touches, 365, NOW)) == ["c", "d", "a", "b"]


def test_the_same_touch_twice_counts_once_but_two_touches_cannot_share_an_id() -> None:
    same = touch("x", 1)
    assert ids(select_touches(deal(5), [same, touch("x", 1)], 365, NOW)) == ["x"]
    with pytest.raises(ValueError, match="share the id 'x'"):
        select_touches(deal(5), [same, touch("x", 2)], 365, NOW)


def test_positions_of_a_won_journey() -> None:
    touches = select_touches(deal(2.5, closed=6, won=True), [
        touch("ad", 0, "ad_click"), touch("web", 1), touch("form", 2, "form_fill"),
        touch("form2", 3, "form_fill"), touch("call", 5, "sales_touch")], 365, NOW)
    positions = find_positions(deal(2.5, closed=6, won=True), touches)
    assert [positions.held_by(i) for i in range(5)] == [
        ("FT",), ("middle",), ("LC", "OC"), ("middle",), ("CW",)]


def test_lead_creation_types_are_a_setting() -> None:
    touches = (touch("ad", 0, "ad_click"), touch("web", 1, "webinar_attended"))
    positions = find_positions(deal(5), touches, {"webinar_attended"})
    assert positions.lc == 1


def test_cw_exists_only_on_won_deals_and_oc_only_with_a_touch_before_the_creation() -> None:
    touches = (touch("a", 1), touch("b", 2))
    assert find_positions(deal(5, closed=6), touches).cw is None  # lost
    assert find_positions(deal(5), touches).cw is None  # open
    assert find_positions(deal(5, closed=6, won=True), touches).cw == 1
    assert find_positions(deal(0.5), touches).oc is None
    assert find_positions(deal(1), touches).oc == 0  # at the creation instant counts


def test_bad_inputs_are_refused_early() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TouchPoint("t", datetime(2026, 1, 1), "form_fill")  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="needs its close date"):
        Deal("D", datetime(2026, 1, 1, tzinfo=UTC), None, is_closed=True)
    with pytest.raises(ValueError, match="must be closed"):
        Deal("D", datetime(2026, 1, 1, tzinfo=UTC), date(2026, 2, 1), is_won=True)
