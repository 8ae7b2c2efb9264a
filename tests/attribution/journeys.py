"""Deals and touches written as day numbers, so a test reads like the table it checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from attribution import Attribution, Deal, Journey, TouchPoint, build_journey

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
NOW = DAY0 + timedelta(days=200)


def at(day: float) -> datetime:
    """``day`` days after DAY0 (fractions are parts of a day)."""
    return DAY0 + timedelta(days=day)


def touch(
    touch_id: str, day: float, kind: str = "web_visit", campaign: str | None = None
) -> TouchPoint:
    return TouchPoint(touch_id, at(day), kind, campaign, None)


def deal(
    created: float,
    *,
    closed: int | None = None,
    won: bool = False,
    amount: str | None = "1000.00",
    deal_id: str = "D1",
) -> Deal:
    """A deal created on day ``created``; ``closed`` is the close day (a date, as CRMs keep it)."""
    close = date.fromordinal(DAY0.date().toordinal() + closed) if closed is not None else None
    return Deal(deal_id, at(created), close, closed is not None, won,
                Decimal(amount) if amount is not None else None)


def journey(the_deal: Deal, touches: Sequence[TouchPoint], lookback_days: int = 365) -> Journey:
    return build_journey(the_deal, touches, lookback_days=lookback_days, now=NOW)


def pct(value: str) -> Fraction:
    """``"22.5"`` → 9/40: tables are written in percent."""
    return Fraction(value) / 100


def table(result: Attribution) -> dict[str, tuple[Fraction, tuple[str, ...]]]:
    """touch id → (credit, positions): the shape of a hand-computed table."""
    return {c.touch_id: (c.credit, c.positions) for c in result.credits}


def marketo_touches() -> list[TouchPoint]:
    """Nine touches: FT, LC, two middles, OC (the deal is created on day 4.5), three middles,
    then a touch on the close day (day 8)."""
    return [
        touch("t1", 0, "ad_click"), touch("t2", 1, "form_fill"), touch("t3", 2, "email_click"),
        touch("t4", 3), touch("t5", 4, "event"), touch("t6", 5), touch("t7", 6, "email_click"),
        touch("t8", 7.9), touch("t9", 8.25, "content_download"),
    ]
