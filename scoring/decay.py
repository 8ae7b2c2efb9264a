"""Decay of behavioural points, and when a decaying score's rounded value next changes.

Pure arithmetic on awarded contributions; ``scoring/DESIGN.md`` states the semantics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from scoring.points import Contribution, round_half_up
from scoring.spec import Decay

_DAY = 86400.0

#: How many steps :func:`next_change` looks ahead before saying "never" (each step is one
#: ``every_days`` boundary; a fractional ``minus`` may need a few to move the rounded value).
_MAX_STEPS = 10_000


def _age_days(at: datetime | None, now: datetime) -> float:
    return max(0.0, (now - at).total_seconds() / _DAY) if at is not None else 0.0


def _steps(since: datetime | None, now: datetime, every_days: float) -> int:
    """Whole ``every_days`` periods from ``since`` to ``now`` (exact: timedelta arithmetic)."""
    if since is None or now <= since:
        return 0
    return (now - since) // timedelta(days=every_days)


def apply(
    decay: Decay | None,
    contributions: Sequence[Contribution],
    touch_times: Sequence[datetime],
    now: datetime,
) -> list[Contribution]:
    """The behavioural contributions of one score (in touch order) with ``after`` at ``now``.

    Cancelled contributions (by a later ``=N``) count nothing. Half-life and per-contribution
    ``minus`` fade each contribution towards 0 (penalties too) by its own age.
    ``without_touch`` takes ``minus`` per whole ``every_days`` of each gap between the
    person's touches (and from the last one to ``now``) from the positive contributions
    standing at the start of the gap, oldest first, none below 0.
    """
    out: list[Contribution] = []
    for c in contributions:
        if c.reset_by is not None:
            out.append(replace(c, after=0.0))
        elif decay is None or decay.without_touch:
            out.append(replace(c, after=c.points))
        elif decay.half_life_days is not None:
            factor = 0.5 ** (_age_days(c.at, now) / decay.half_life_days)
            out.append(replace(c, after=c.points * factor))
        else:
            assert decay.minus is not None and decay.every_days is not None
            steps = _steps(c.at, now, decay.every_days)
            cut = min(abs(c.points), decay.minus * steps)
            out.append(replace(c, after=math.copysign(abs(c.points) - cut, c.points)))
    if decay is not None and decay.without_touch:
        _without_touch(decay, out, touch_times, now)
    return out


def _without_touch(decay: Decay, out: list[Contribution], touch_times: Sequence[datetime],
                   now: datetime) -> None:
    assert decay.minus is not None and decay.every_days is not None
    left = [c.points for c in out]  # what each still counts as the gaps go by
    for k, start in enumerate(touch_times):
        end = touch_times[k + 1] if k + 1 < len(touch_times) else now
        loss = decay.minus * _steps(start, end, decay.every_days)
        for i, c in enumerate(out):
            if loss <= 0 or c.at is None or c.at > start:
                break
            standing = c.reset_at is None or c.reset_at > start
            if standing and left[i] > 0:
                cut = min(left[i], loss)
                left[i] -= cut
                loss -= cut
    for i, c in enumerate(out):
        if c.reset_by is None:
            out[i] = replace(c, after=left[i])


def next_change(
    decay: Decay,
    fixed: float,
    contributions: Sequence[Contribution],
    touch_times: Sequence[datetime],
    now: datetime,
) -> datetime | None:
    """When ``round(fixed + decayed points)`` first differs from its value at ``now``.

    A whole second (for half-life: the boundary rounded up) or an ``every_days`` step; None
    when decay alone never changes it.
    """

    def rounded(at: datetime) -> int:
        return round_half_up(fixed + sum(c.after for c in apply(decay, contributions,
                                                                 touch_times, at)))

    current = rounded(now)
    if decay.half_life_days is not None:
        moving = sum(c.after for c in apply(decay, contributions, touch_times, now))
        if moving == 0:
            return None
        # The decayed sum is moving·2^(−Δ/h): solve fixed + moving·f = the rounding boundary.
        target = current - 0.5 if moving > 0 else current + 0.5
        f = (target - fixed) / moving
        if not 0 < f < 1:
            return None
        at = now + timedelta(days=-decay.half_life_days * math.log2(f))
        at = at.replace(microsecond=0) + timedelta(seconds=1)
        for _ in range(60):  # float noise at the boundary: a few more seconds at most
            if rounded(at) != current:
                return at
            at += timedelta(seconds=1)
        return None
    assert decay.every_days is not None
    every = timedelta(days=decay.every_days)
    at = now
    for _ in range(_MAX_STEPS):
        starts = (list(touch_times[-1:]) if decay.without_touch
                  else [c.at for c in contributions if c.at is not None and c.reset_by is None])
        nexts = [s + every * (_steps(s, at, decay.every_days) + 1) for s in starts]
        after = [c.after for c in apply(decay, contributions, touch_times, at)]
        live = [a for a in after if (a > 0 if decay.without_touch else a != 0)]
        if not nexts or not live:
            return None
        at = min(nexts)
        if rounded(at) != current:
            return at
    return None
