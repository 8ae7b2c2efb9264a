"""Revenue shares: cents that add up exactly to the amount, remainders settled by touch id."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from attribution import BUILTIN_MODELS, Attribution, Credit, revenue_shares
from tests.attribution.journeys import deal, journey, marketo_touches, touch


def test_linear_thirds_give_the_spare_cent_to_the_smallest_touch_id() -> None:
    touches = [touch("t2", 0), touch("t3", 1), touch("t1", 2)]
    result = BUILTIN_MODELS["linear"].attribute(journey(deal(5), touches))
    assert [c.touch_id for c in result.credits] == ["t2", "t3", "t1"]
    assert revenue_shares(Decimal("100.00"), result) == [
        Decimal("33.33"), Decimal("33.33"), Decimal("33.34"), Decimal("0.00")]


def test_an_open_deal_keeps_the_pending_revenue_as_the_last_item() -> None:
    result = BUILTIN_MODELS["full_path"].attribute(journey(deal(4.5), marketo_touches()))
    shares = revenue_shares(Decimal("1000"), result)
    # FT, LC, OC 225.00; six middles share 100.00: 16.666… each, the 4 spare cents to the
    # smallest ids (t3, t4, t6, t7); pending 225.00.
    assert shares == [Decimal(s) for s in (
        "225.00", "225.00", "16.67", "16.67", "225.00", "16.67", "16.67", "16.66", "16.66",
        "225.00")]
    assert sum(shares) == Decimal("1000.00")


def test_an_unattributed_deal_keeps_the_whole_amount_apart() -> None:
    result = Attribution("D", "linear", (), Fraction(0), unattributed=True)
    assert revenue_shares(Decimal("99.99"), result) == [Decimal("99.99")]


def test_amounts_are_rounded_to_cents_first_and_negative_amounts_split_the_same_way() -> None:
    halves = Attribution("D", "m", (Credit("a", Fraction(1, 2), ("FT",)),
                                    Credit("b", Fraction(1, 2), ("LC",))))
    assert revenue_shares(Decimal("0.015"), halves) == [
        Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]  # 0.015 → 0.02 (half-even)
    assert revenue_shares(Decimal("-0.03"), halves) == [
        Decimal("-0.02"), Decimal("-0.01"), Decimal("0.00")]
