"""``attribution.report.build_report`` on both databases: groups, ranges and the special rows."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from attribution.config import parse_settings
from attribution.engine import run
from attribution.report import DateRange, build_report
from tests.attribution.hub import WEIGHTED, story, when
from tests.clock import frozen_clock


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch).now = when("2026-05-01 00:00")


def _table(engine: Engine, model: str, by: str, dates: DateRange) -> list[tuple[object, ...]]:
    with Session(engine) as session:
        return [tuple(row.as_json().values()) for row in build_report(session, model, by, dates)]


def test_groups_and_the_pending_and_touchless_rows(engine: Engine) -> None:
    story(engine)
    run(engine, parse_settings(WEIGHTED, "attribution.yaml"))
    # W (won 10 April, 1000): t1 ads, t2 webinar, t3 news, t4 no campaign, 25 % each.
    # O (open, 600): t1 ads 27.5 %, t2 webinar 50 %, 22.5 % pending. N (500): no touch.
    assert _table(engine, "full_path", "campaign", DateRange()) == [
        ("(no campaign)", "full_path", 1, 1, 0.25, 250.0, 250.0),
        ("Ads", "full_path", 1, 2, 0.525, 415.0, 250.0),
        ("News", "full_path", 1, 1, 0.25, 250.0, 250.0),
        ("Webinar", "full_path", 1, 2, 0.75, 550.0, 250.0),
        ("(pending)", "full_path", 0, 1, 0.225, 135.0, 0.0),
        ("(no touches)", "full_path", 0, 1, 1.0, 500.0, 0.0),
    ]
    # Created 1 March (W, O) is before the range; W's win on 10 April is in it.
    assert _table(engine, "first_touch", "touch_type",
                  DateRange(date(2026, 3, 2), date(2026, 4, 10))) == [
        ("web_visit", "first_touch", 1, 1, 1.0, 0.0, 1000.0),
        ("(no touches)", "first_touch", 0, 1, 1.0, 500.0, 0.0),
    ]
    assert _table(engine, "w_shaped", "channel", DateRange(date(2026, 6, 1), None)) == []
