"""Attribution models: how one deal's credit is shared among the touches of its journey.

Every model turns a :class:`~attribution.positions.Journey` into an :class:`Attribution`: the
credit of each touch (an exact fraction), the *pending* share and whether the deal is
unattributed. For every deal with a touch, ``sum(credits) + pending == 1`` exactly.

Position-based models (:class:`PositionModel`) give each position they weigh its share, and
the *middle* share to their middle touches in equal parts. Which touches are middles depends
on the model, because the published models differ on which touches after a milestone still
earn credit:

- ``u_shaped`` (FT 40 / LC 40 / middles 20): the middles are the touches strictly after the FT
  and strictly before the LC. Marketo Measure gives post-LC touches no U-shaped credit and
  HubSpot splits the 20 % among the interactions between first and lead-creation touch, so
  touches after the LC get nothing here.
- ``w_shaped`` (FT 30 / LC 30 / OC 30 / middles 10): the middles are the touches at or before
  the deal's creation that hold none of FT, LC, OC ("up to OC"). Touches after the deal was
  created get nothing, as in Marketo Measure.
- ``full_path`` (FT, LC, OC, CW 22.5 each / middles 10) and ``custom`` models by default: every
  touch holding none of the model's positions is a middle, wherever it falls.

A touch's model positions are the positions the model weighs above zero: in ``u_shaped`` an
OC touch that falls between FT and LC is a middle, since the U does not weigh OC.

Redistribution. A weighed position may not exist (OC when every touch came after the deal's
creation), and a model may have no middle in its range (one touch; LC right after FT). Such a
share goes in equal parts to the distinct touches that hold one of the model's positions that
does exist: these are the touches the model says matter, and "equal per touch" keeps a touch
holding FT and LC from taking a double portion of someone else's share. Examples: in
``w_shaped`` with no touch before creation, OC's 30 % goes half to FT and half to LC (all of it
to the FT when it is the LC too); in ``u_shaped`` with LC right after FT, each gets 50 %, the
U-shaped split Marketo Measure's model page shows. When none of the model's positions exists
(``last_touch`` with no touch before creation), the FT takes the share: when nothing preceded
the deal, the first touch after its creation is the one nearest to it.

Pending. The CW share of a deal that is open, or closed lost, goes to no touch: it is reported
as ``pending`` (Marketo Measure's placeholder on open opportunities), so pipeline credit still
adds to 100 % and nothing is invented for a deal that has not been won.

``linear`` shares equally among all touches of the journey. ``time_decay`` weighs a touch by
``2^(−days / half_life_days)``, days counted back from the reference (the end of the close
day for a closed deal, the creation for an open one; touches after it count 0 days), then
normalises. Its shares are irrational, so they are rounded to multiples of 10⁻¹² by largest
remainder (ties to the smaller touch id): exact fractions that sum to 1 like the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from math import lcm
from typing import Protocol

from attribution.apportion import apportion, common_units
from attribution.positions import Journey, Position

#: Time-decay shares are multiples of 1 / DECAY_UNITS.
DECAY_UNITS = 10**12


class MiddleRange(StrEnum):
    """Which touches without a model position may take the middle share."""

    ALL = "all"
    BETWEEN_FT_AND_LC = "between_ft_and_lc"
    BEFORE_CREATION = "before_creation"


@dataclass(frozen=True, slots=True)
class Credit:
    """The share of one touch under one model, and the positions it holds in the journey."""

    touch_id: str
    credit: Fraction
    #: ``FT``, ``LC``, ``OC``, ``CW`` held by the touch (the same under every model), or
    #: ``("middle",)``: what a report shows as the reason for the share.
    positions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Attribution:
    """One deal under one model: its credits, pending share and whether it had no touch.

    ``credits`` lists the touches with a share above zero, in journey order.
    """

    deal_id: str
    model: str
    credits: tuple[Credit, ...]
    pending: Fraction = Fraction(0)
    #: No touch in the journey: nothing is credited, the whole deal is reported as such.
    unattributed: bool = False

    @property
    def total(self) -> Fraction:
        """Credits plus pending: 1 for an attributed deal, 0 for an unattributed one."""
        return sum((c.credit for c in self.credits), self.pending)


class Model(Protocol):
    """What the engine needs of a model: a unique name and a way to credit one journey."""

    @property
    def name(self) -> str: ...

    def attribute(self, journey: Journey) -> Attribution: ...


def _result(
    name: str, journey: Journey, shares: Sequence[int], denominator: int, pending: int = 0
) -> Attribution:
    """Shares given as integers over one denominator (exact, and cheap to add up)."""
    credits = tuple(
        Credit(touch.id, Fraction(share, denominator), labels)
        for touch, share, labels in zip(journey.touches, shares, journey.labels, strict=True)
        if share > 0
    )
    return Attribution(journey.deal.id, name, credits, Fraction(pending, denominator))


def _unattributed(name: str, journey: Journey) -> Attribution:
    return Attribution(journey.deal.id, name, (), Fraction(0), unattributed=True)


@dataclass(frozen=True)
class PositionModel:
    """Shares by position plus a middle share; the built-in U, W, full path and custom models.

    ``weights`` maps positions to their share; with ``middle`` they must sum to 1.
    """

    name: str
    weights: Mapping[Position, Fraction]
    middle: Fraction = Fraction(0)
    middles: MiddleRange = MiddleRange.ALL

    def __post_init__(self) -> None:
        # Own copies: a caller's dict changed later must not change a model already in use.
        object.__setattr__(self, "weights", {Position(p): Fraction(w)
                                             for p, w in self.weights.items()})
        object.__setattr__(self, "middle", Fraction(self.middle))
        object.__setattr__(self, "middles", MiddleRange(self.middles))
        shares = [*self.weights.values(), self.middle]
        if any(share < 0 for share in shares):
            raise ValueError(f"model {self.name}: shares must not be negative")
        if sum(shares, Fraction(0)) != 1:
            raise ValueError(f"model {self.name}: shares must add up to 100 %")

    def attribute(self, journey: Journey) -> Attribution:
        """Credit ``journey``'s touches by position; see the module docstring for the rules."""
        touches, positions = journey.touches, journey.positions
        if not touches:
            return _unattributed(self.name, journey)
        # Integer units of 1/base (base: the weights' common denominator) until the end.
        *units, middle = common_units([*self.weights.values(), self.middle])
        base = lcm(*(w.denominator for w in (*self.weights.values(), self.middle)))
        held: dict[int, int] = {}  # touch index → units from the positions it holds
        pending = orphaned = 0  # orphaned: shares of positions or middles that do not exist
        for position, weight in zip(self.weights, units, strict=True):
            if weight == 0:
                continue
            index = positions.index(position)
            if index is not None:
                held[index] = held.get(index, 0) + weight
            elif position is Position.CW:
                pending += weight  # open or lost: no CW touch (yet)
            else:
                orphaned += weight
        middles = [i for i in range(len(touches)) if i not in held and self._in_range(
            journey, i)] if middle else []
        if middle and not middles:
            orphaned += middle
        # Nobody holds a position (last_touch without OC): the FT, index 0, takes it.
        receivers = sorted(held) or [0]
        # One denominator for everything: base × (number of middles) × (number of receivers).
        m, r = len(middles) or 1, len(receivers) if orphaned else 1
        shares = [0] * len(touches)
        for index, weight in held.items():
            shares[index] += weight * m * r
        for index in middles:
            shares[index] += middle * r
        if orphaned:
            for index in receivers:
                shares[index] += orphaned * m
        return _result(self.name, journey, shares, base * m * r, pending * m * r)

    def _in_range(self, journey: Journey, index: int) -> bool:
        if self.middles is MiddleRange.BETWEEN_FT_AND_LC:
            ft, lc = journey.positions.ft, journey.positions.lc
            return ft is not None and lc is not None and ft < index < lc
        if self.middles is MiddleRange.BEFORE_CREATION:
            return journey.touches[index].occurred_at <= journey.deal.created_at
        return True


@dataclass(frozen=True)
class LinearModel:
    """Equal shares over every touch of the journey."""

    name: str = "linear"

    def attribute(self, journey: Journey) -> Attribution:
        """Credit each touch ``1 / n``."""
        if not journey.touches:
            return _unattributed(self.name, journey)
        return _result(self.name, journey, [1] * len(journey.touches), len(journey.touches))


@dataclass(frozen=True)
class TimeDecayModel:
    """Touches nearer the reference date weigh more: half the weight every ``half_life_days``."""

    name: str = "time_decay"
    half_life_days: float = 7.0

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError(f"model {self.name}: half_life_days must be greater than 0")

    def attribute(self, journey: Journey) -> Attribution:
        """Credit each touch by its decayed weight, rounded to ``1 / DECAY_UNITS``."""
        touches, deal = journey.touches, journey.deal
        if not touches:
            return _unattributed(self.name, journey)
        reference = deal.closes_at or deal.created_at
        days = [max(0.0, (reference - t.occurred_at).total_seconds() / 86400) for t in touches]
        # Relative to the newest touch, so the largest weight is 1 and far-back journeys with
        # a short half-life cannot underflow to all zeros.
        newest = min(days)
        weights = [(2.0 ** (-(d - newest) / self.half_life_days)).as_integer_ratio()
                   for d in days]
        units = apportion(DECAY_UNITS, common_units(weights), [t.id for t in touches])
        return _result(self.name, journey, units, DECAY_UNITS)


def _pct(value: float) -> Fraction:
    return Fraction(str(value)) / 100


#: The shipped models by name, with the published shares.
BUILTIN_MODELS: dict[str, Model] = {
    "first_touch": PositionModel("first_touch", {Position.FT: Fraction(1)}),
    "lead_creation": PositionModel("lead_creation", {Position.LC: Fraction(1)}),
    "last_touch": PositionModel("last_touch", {Position.OC: Fraction(1)}),
    "linear": LinearModel(),
    "u_shaped": PositionModel(
        "u_shaped", {Position.FT: _pct(40), Position.LC: _pct(40)}, _pct(20),
        MiddleRange.BETWEEN_FT_AND_LC,
    ),
    "w_shaped": PositionModel(
        "w_shaped", {Position.FT: _pct(30), Position.LC: _pct(30), Position.OC: _pct(30)},
        _pct(10), MiddleRange.BEFORE_CREATION,
    ),
    "full_path": PositionModel(
        "full_path", {p: _pct(22.5) for p in Position}, _pct(10), MiddleRange.ALL,
    ),
    "time_decay": TimeDecayModel(),
}



def credits_every_touch(model: Model) -> bool:
    """Whether ``model`` gives every touch of a journey a share above zero.

    Such a model's credit rows list the whole journey, so they tell which touches an
    opportunity was last computed with. ``linear`` does; so does a position model whose
    middle share is above zero and goes to all other touches (``full_path``). A touch may get
    no share under the others (time decay rounds a touch far back to zero).
    """
    if isinstance(model, LinearModel):
        return True
    return (isinstance(model, PositionModel) and model.middle > 0
            and model.middles is MiddleRange.ALL)
