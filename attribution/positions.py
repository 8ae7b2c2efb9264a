"""The journey of one deal: which touches count for it, in what order, and which hold a position.

A deal's journey is its touches from ``created − lookback`` up to its close (closed deals) or
now (open ones), ordered by ``(occurred_at, id)`` so that ties between touches stamped with the
same instant always come out the same way. Four *positions* mark the milestones of a B2B
journey, as Marketo Measure and HubSpot name them:

- **FT**, first touch: the first touch of the journey.
- **LC**, lead creation: the first touch whose type counts as lead creation (by default
  ``form_fill``, ``webinar_registration``, ``content_download``); when none does, the FT
  holds LC too, so a lead-creation share is never lost for want of a form.
- **OC**, opportunity creation: the last touch at or before the deal's creation. It does not
  exist when every touch came after the deal was created.
- **CW**, closed won: the last touch at or before the close date, for won deals only. It does
  not exist on open and lost deals.

One touch may hold several positions (a single form fill before the deal is FT, LC and OC at
once). A touch holding none is a *middle* touch. CRMs store the close date as a day, so a
closed deal's journey runs to the END of that day in UTC: a touch at 16:00 on the close day
counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

#: Touch types that count as lead creation unless the attribution file says otherwise.
DEFAULT_LEAD_CREATION_TYPES: frozenset[str] = frozenset(
    {"form_fill", "webinar_registration", "content_download"}
)


class Position(StrEnum):
    """A milestone of a deal's journey that a touch can hold."""

    FT = "FT"  # first touch
    LC = "LC"  # lead creation
    OC = "OC"  # opportunity creation
    CW = "CW"  # closed won

    @property
    def key(self) -> str:
        """How the attribution file spells it in a custom model's weights (``ft``)."""
        return self.value.lower()


#: The label of a touch that holds no position.
MIDDLE = "middle"


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got {value.isoformat()}")
    return value


@dataclass(frozen=True, slots=True)
class TouchPoint:
    """One marketing interaction of one person, as attribution needs it."""

    id: str
    occurred_at: datetime
    touch_type: str
    campaign_id: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        _aware(self.occurred_at, f"touch {self.id}: occurred_at")

    @property
    def order(self) -> tuple[datetime, str]:
        """The journey's sort key: time, then id so equal instants order the same way."""
        return (self.occurred_at, self.id)


@dataclass(frozen=True, slots=True)
class Deal:
    """An opportunity (deal), as attribution needs it.

    ``close_date`` may be a date (what CRMs store) or a datetime, whose UTC day is used. A
    closed deal must have one, and only a closed deal can be won.
    """

    id: str
    created_at: datetime
    close_date: datetime | date | None = None
    is_closed: bool = False
    is_won: bool = False
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        _aware(self.created_at, f"deal {self.id}: created_at")
        if isinstance(self.close_date, datetime):
            _aware(self.close_date, f"deal {self.id}: close_date")
        if self.is_won and not self.is_closed:
            raise ValueError(f"deal {self.id}: a won deal must be closed")
        if self.is_closed and self.close_date is None:
            raise ValueError(f"deal {self.id}: a closed deal needs its close date")

    @property
    def closes_at(self) -> datetime | None:
        """The end of the close day in UTC (the next midnight, exclusive); None while open."""
        if not self.is_closed or self.close_date is None:
            return None
        day = self.close_date
        if isinstance(day, datetime):
            day = day.astimezone(UTC).date()
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def select_touches(
    deal: Deal, touches: Iterable[TouchPoint], lookback_days: int, now: datetime
) -> tuple[TouchPoint, ...]:
    """The touches of ``deal``'s journey, ordered by ``(occurred_at, id)``.

    Kept: ``occurred_at ≥ created_at − lookback_days`` and, for a closed deal, before the end
    of its close day (UTC), for an open one ``≤ now``. The same touch given twice (same id and
    fields, e.g. reached through two contact roles) counts once; two different touches under
    one id raise ValueError, since either could be the one the CRM meant.
    """
    _aware(now, "now")
    start = deal.created_at - timedelta(days=lookback_days)
    end = deal.closes_at
    unique: dict[str, TouchPoint] = {}
    for touch in touches:
        known = unique.setdefault(touch.id, touch)
        if known != touch:
            raise ValueError(f"two different touches share the id {touch.id!r}")
    kept = [
        t for t in unique.values()
        if t.occurred_at >= start and (t.occurred_at < end if end else t.occurred_at <= now)
    ]
    return tuple(sorted(kept, key=lambda t: t.order))


@dataclass(frozen=True, slots=True)
class Positions:
    """Which touch (an index into the ordered journey) holds each position; None if nobody."""

    ft: int | None
    lc: int | None
    oc: int | None
    cw: int | None

    def index(self, position: Position) -> int | None:
        """The index of the touch holding ``position``, or None when it does not exist."""
        return getattr(self, position.key)  # type: ignore[no-any-return]

    def held_by(self, index: int) -> tuple[str, ...]:
        """The positions a touch holds, in journey order (FT, LC, OC, CW), or ``("middle",)``."""
        held = tuple(label for label, at in (("FT", self.ft), ("LC", self.lc), ("OC", self.oc),
                                             ("CW", self.cw)) if at == index)
        return held or (MIDDLE,)


def find_positions(
    deal: Deal,
    journey: tuple[TouchPoint, ...],
    lead_creation_types: Iterable[str] = DEFAULT_LEAD_CREATION_TYPES,
) -> Positions:
    """The positions of an ordered journey (as :func:`select_touches` returns it)."""
    if not journey:
        return Positions(None, None, None, None)
    kinds = frozenset(lead_creation_types)
    lc = next((i for i, t in enumerate(journey) if t.touch_type in kinds), 0)
    before = [i for i, t in enumerate(journey) if t.occurred_at <= deal.created_at]
    oc = before[-1] if before else None
    closes_at = deal.closes_at
    won = [i for i, t in enumerate(journey)
           if deal.is_won and closes_at is not None and t.occurred_at < closes_at]
    cw = won[-1] if won else None
    return Positions(ft=0, lc=lc, oc=oc, cw=cw)


@dataclass(frozen=True, slots=True)
class Journey:
    """A deal with its ordered touches and their positions: what every model reads."""

    deal: Deal
    touches: tuple[TouchPoint, ...]
    positions: Positions
    #: What each touch holds, by index (``("middle",)`` for none): computed once, read by
    #: every model.
    labels: tuple[tuple[str, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        labels = tuple(self.positions.held_by(i) for i in range(len(self.touches)))
        object.__setattr__(self, "labels", labels)  # frozen: set once, here


def build_journey(
    deal: Deal,
    touches: Iterable[TouchPoint],
    *,
    lookback_days: int,
    now: datetime,
    lead_creation_types: Iterable[str] = DEFAULT_LEAD_CREATION_TYPES,
) -> Journey:
    """Select ``deal``'s touches and find their positions, once for all models."""
    selected = select_touches(deal, touches, lookback_days, now)
    return Journey(deal, selected, find_positions(deal, selected, lead_creation_types))
