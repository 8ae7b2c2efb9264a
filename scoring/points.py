"""What a score is made of: one contribution per rule that gave points, and how totals round."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


def round_half_up(value: float) -> int:
    """Round to a whole number, halves upwards (2.5 → 3, −2.5 → −2).

    Float noise is cut first (nine decimals), so 0.1 + 0.2 + 2.2 rounds like 2.5 would.
    """
    return math.floor(round(value, 9) + 0.5)


@dataclass(frozen=True, slots=True)
class Contribution:
    """Points one rule gave one score: the breakdown line an admin reads to see why."""

    rule: str
    kind: str  # "demographic", "behavioral" or "account"
    score: str
    #: Points awarded (after caps, before decay); for ``=N`` the N.
    points: float
    #: What the points count now: after decay, 0 when cancelled by a later ``=N``.
    after: float
    #: The touch that earned them (behavioural rules), and when it happened.
    touch_id: str | None = None
    at: datetime | None = None
    #: The points the rule asked for, when a cap cut them; and which cap ("per_day", "total").
    requested: float | None = None
    capped_by: str | None = None
    #: This contribution sets the score (``=N``).
    reset: bool = False
    #: Cancelled by a later ``=N``: "<rule> at touch <id>", and that touch's time.
    reset_by: str | None = None
    reset_at: datetime | None = None
    #: Account breadth rules: the people counted.
    people: tuple[str, ...] = ()

    @property
    def decayed(self) -> float:
        """Points taken away by decay (0 for cancelled and non-decaying contributions)."""
        return 0.0 if self.reset_by is not None else self.points - self.after
