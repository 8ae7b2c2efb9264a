"""Properties every model keeps on any journey: shares ≥ 0 that add up, order-free, exact money."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import (
    BUILTIN_MODELS,
    Deal,
    MiddleRange,
    Model,
    Position,
    PositionModel,
    TouchPoint,
    build_journey,
    revenue_shares,
)
from tests.attribution.journeys import DAY0, NOW, at
from touches.types import TOUCH_TYPES

HOURS = st.integers(min_value=-400 * 24, max_value=120 * 24)  # hour steps make ties likely


@st.composite
def deals(draw: st.DrawFn) -> Deal:
    created = at(draw(st.integers(min_value=0, max_value=60 * 24)) / 24)
    state = draw(st.sampled_from(["open", "lost", "won"]))
    close = None
    if state != "open":
        close = date.fromordinal(DAY0.date().toordinal() + draw(st.integers(-5, 90)))
    amount = Decimal(draw(st.integers(-10**9, 10**9))) / 100
    return Deal("D", created, close, state != "open", state == "won", amount)


@st.composite
def touch_lists(draw: st.DrawFn) -> list[TouchPoint]:
    names = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=3), max_size=14,
                          unique=True))
    return [TouchPoint(name, DAY0 + timedelta(hours=draw(HOURS)),
                       draw(st.sampled_from(TOUCH_TYPES))) for name in names]


@st.composite
def custom_models(draw: st.DrawFn) -> Model:
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    weights = {p: Fraction(w, 100) for p, w in zip(Position, parts, strict=False)}
    return PositionModel("custom", weights, Fraction(parts[4], 100),
                         draw(st.sampled_from(list(MiddleRange))))


MODELS = st.one_of(st.sampled_from(list(BUILTIN_MODELS.values())), custom_models())


@settings(max_examples=100, deadline=None)
@given(deal=deals(), touches=touch_lists(), model=MODELS, lookback=st.integers(0, 400),
       shuffle=st.randoms(use_true_random=False))
def test_credits_are_positive_add_up_to_one_and_ignore_input_order(
    deal: Deal, touches: list[TouchPoint], model: Model, lookback: int, shuffle: object
) -> None:
    journey = build_journey(deal, touches, lookback_days=lookback, now=NOW)
    result = model.attribute(journey)
    if not journey.touches:
        assert result.unattributed and result.credits == () and result.pending == 0
    else:
        assert not result.unattributed
        assert all(c.credit > 0 for c in result.credits)
        assert result.pending >= 0
        assert sum(c.credit for c in result.credits) + result.pending == 1
        if deal.is_won:
            assert result.pending == 0  # only a CW share can wait, and won deals have a CW
        order = [t.id for t in journey.touches]
        assert [c.touch_id for c in result.credits] == sorted(
            (c.touch_id for c in result.credits), key=order.index)

    reordered = list(reversed(touches))
    shuffle.shuffle(reordered)  # type: ignore[attr-defined]
    again = model.attribute(build_journey(deal, reordered, lookback_days=lookback, now=NOW))
    assert again == result


@settings(max_examples=100, deadline=None)
@given(deal=deals(), touches=touch_lists(), model=MODELS)
def test_revenue_shares_add_up_exactly_to_the_amount_in_cents(
    deal: Deal, touches: list[TouchPoint], model: Model
) -> None:
    assert deal.amount is not None
    result = model.attribute(build_journey(deal, touches, lookback_days=365, now=NOW))
    shares = revenue_shares(deal.amount, result)
    assert len(shares) == len(result.credits) + 1
    assert sum(shares) == deal.amount
    assert all(s.as_tuple().exponent == -2 for s in shares)
    assert all((s >= 0) if deal.amount >= 0 else (s <= 0) for s in shares)
    # No share is more than a cent away from credit × amount.
    weights = [c.credit for c in result.credits] + [Fraction(int(result.unattributed))
                                                     + result.pending]
    for share, weight in zip(shares, weights, strict=True):
        assert abs(Fraction(share) - weight * Fraction(deal.amount)) < Fraction(1, 100)
