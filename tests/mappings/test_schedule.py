"""Schedules: intervals and cron lines, and the APScheduler trigger they become."""

from __future__ import annotations

import pytest
from apscheduler.triggers.cron import CronTrigger

from mappings.schedule import Schedule, parse_schedule


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10s", 10), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1h30m", 5400),
     ("1h 30m", 5400), (" 2H ", 7200), ("1d2h3m4s", 93784)],
)
def test_intervals(text: str, seconds: int) -> None:
    schedule = parse_schedule(text)
    assert schedule == Schedule(seconds=seconds)
    assert schedule.trigger_kwargs() == {"trigger": "interval", "seconds": seconds}


@pytest.mark.parametrize("text", ["*/15 * * * *", "0 9 * * mon-fri", "0 0 29 2 *"])
def test_cron(text: str) -> None:
    schedule = parse_schedule(text)
    assert schedule == Schedule(cron=text)
    trigger = schedule.trigger_kwargs()["trigger"]
    assert isinstance(trigger, CronTrigger)
    assert str(trigger.timezone) == "UTC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5s", "'5s' is too often: the shortest interval is 10s"),
        ("0m", "'0m' is too often: the shortest interval is 10s"),
        ("5x", "'5x' is not a schedule: use an interval such as 30s, 5m, 1h30m or 1d, or a "
               "5-field cron line such as '*/15 * * * *'"),
        ("30m1h", "'30m1h' is not a schedule: use an interval such as 30s, 5m, 1h30m or 1d, or a "
                  "5-field cron line such as '*/15 * * * *'"),
        ("", "expected an interval such as '5m' or a cron line such as '*/15 * * * *'"),
        ("61 * * * *", "'61 * * * *' is not a valid cron line: Error validating expression "
                       "'61': the last value (61) is higher than the maximum value (59)"),
        ("0 0 31 2 *", "'0 0 31 2 *' never fires"),
    ],
)
def test_bad_schedules(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_schedule(text)
    assert str(caught.value) == message
