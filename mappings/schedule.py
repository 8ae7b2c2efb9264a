"""A mapping's ``schedule:``: an interval such as ``5m`` or ``1h30m``, or a 5-field cron line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Shorter intervals would spend API budget on polling and overlap their own cycles.
MIN_SECONDS = 10

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_INTERVAL = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Either an interval in seconds or a cron expression (UTC); exactly one is set."""

    seconds: int | None = None
    cron: str | None = None

    def trigger_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for APScheduler 3's ``scheduler.add_job(fn, **kwargs)``."""
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger  # only the scheduler needs it

            return {"trigger": CronTrigger.from_crontab(self.cron, timezone="UTC")}
        return {"trigger": "interval", "seconds": self.seconds}

    def __str__(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron} (UTC)"
        return f"every {self.seconds}s"


def parse_schedule(text: str) -> Schedule:
    """Parse ``30s``/``5m``/``1h30m``/``1d`` or a cron line; ValueError says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected an interval such as '5m' or a cron line such as '*/15 * * * *'")
    text = text.strip()
    if len(text.split()) == 5:
        return Schedule(cron=_check_cron(text))
    match = _INTERVAL.fullmatch(text.lower())
    if match is None or not any(match.groups()):
        raise ValueError(
            f"{text!r} is not a schedule: use an interval such as 30s, 5m, 1h30m or 1d, "
            "or a 5-field cron line such as '*/15 * * * *'"
        )
    seconds = sum(
        int(n) * unit for n, unit in zip(match.groups(), _UNITS.values(), strict=True) if n
    )
    if seconds < MIN_SECONDS:
        raise ValueError(f"{text!r} is too often: the shortest interval is {MIN_SECONDS}s")
    return Schedule(seconds=seconds)


def _check_cron(text: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid cron line: {exc}") from None
    # "0 0 31 2 *" parses but would silently never run.
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError(f"{text!r} never fires")
    return text
