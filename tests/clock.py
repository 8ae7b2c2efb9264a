"""A clock tests move by hand: ``core.clock.utcnow`` reads it, so every module sees one time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import core.clock


class Clock:
    """Frozen until a test moves it; starts at the real time so remote timestamps stay sane."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = (start or datetime.now(UTC)).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        self.now += timedelta(**delta)
        return self.now

    def to(self, moment: datetime) -> datetime:
        """Move to ``moment`` (never backwards)."""
        assert moment >= self.now, f"the clock does not go back: {moment} < {self.now}"
        self.now = moment
        return self.now


def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Put a controllable clock behind ``core.clock.utcnow`` for the rest of one test."""
    fake = Clock()
    monkeypatch.setattr(core.clock, "clock", fake)
    return fake
