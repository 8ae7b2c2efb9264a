"""Each shipped model against hand-computed tables, including the published examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from attribution import BUILTIN_MODELS, Journey, Position, PositionModel, TimeDecayModel
from tests.attribution.journeys import deal, journey, marketo_touches, pct, table, touch

FT, LC, OC, CW, MID = ("FT",), ("LC",), ("OC",), ("CW",), ("middle",)


def run(model: str, j: Journey):
    return BUILTIN_MODELS[model].attribute(j)


def test_full_path_published_example_four_positions_and_five_middles_at_two_percent() -> None:
    won = journey(deal(4.5, closed=8, won=True), marketo_touches())
    result = run("full_path", won)
    assert table(result) == {
        "t1": (pct("22.5"), FT), "t2": (pct("22.5"), LC), "t3": (pct("2"), MID),
        "t4": (pct("2"), MID), "t5": (pct("22.5"), OC), "t6": (pct("2"), MID),
        "t7": (pct("2"), MID), "t8": (pct("2"), MID), "t9": (pct("22.5"), CW),
    }
    assert result.pending == 0 and not result.unattributed


def test_full_path_on_an_open_deal_keeps_the_closed_won_share_pending() -> None:
    open_deal = journey(deal(4.5), marketo_touches())
    result = run("full_path", open_deal)
    middle = Fraction(1, 60)  # 10 % over six middles: the last touch is no CW while open
    assert table(result) == {
        "t1": (pct("22.5"), FT), "t2": (pct("22.5"), LC), "t3": (middle, MID),
        "t4": (middle, MID), "t5": (pct("22.5"), OC), "t6": (middle, MID),
        "t7": (middle, MID), "t8": (middle, MID), "t9": (middle, MID),
    }
    assert result.pending == pct("22.5")


def test_a_lost_deal_counts_touches_to_the_end_of_its_close_day_and_keeps_cw_pending() -> None:
    lost = journey(deal(4.5, closed=7), marketo_touches())
    assert [t.id for t in lost.touches] == [f"t{i}" for i in range(1, 9)]  # t8 at 21:36 counts
    result = run("full_path", lost)
    assert table(result) == {
        "t1": (pct("22.5"), FT), "t2": (pct("22.5"), LC), "t3": (pct("2"), MID),
        "t4": (pct("2"), MID), "t5": (pct("22.5"), OC), "t6": (pct("2"), MID),
        "t7": (pct("2"), MID), "t8": (pct("2"), MID),
    }
    assert result.pending == pct("22.5")


def test_w_shaped_gives_the_middle_share_only_to_touches_up_to_the_creation() -> None:
    won = journey(deal(4.5, closed=8, won=True), marketo_touches())
    assert table(run("w_shaped", won)) == {
        "t1": (pct("30"), FT), "t2": (pct("30"), LC), "t3": (pct("5"), MID),
        "t4": (pct("5"), MID), "t5": (pct("30"), OC),
    }


def test_w_shaped_when_the_lc_touch_is_also_the_oc_touch() -> None:
    touches = [touch("a", 0, "ad_click"), touch("b", 1, "form_fill"), touch("c", 2)]
    result = run("w_shaped", journey(deal(1.5), touches))
    # No middle before the creation: its 10 % goes 5/5 to the two positioned touches.
    assert table(result) == {"a": (pct("35"), FT), "b": (pct("65"), ("LC", "OC"))}


def test_u_shaped_splits_20_percent_among_the_touches_between_ft_and_lc() -> None:
    touches = [touch("a", 0, "ad_click"), touch("b", 1), touch("c", 2, "email_click"),
               touch("d", 3, "form_fill"), touch("e", 4), touch("f", 6, "form_fill")]
    result = run("u_shaped", journey(deal(5, closed=9, won=True), touches))
    assert table(result) == {
        "a": (pct("40"), FT), "b": (pct("10"), MID), "c": (pct("10"), MID),
        "d": (pct("40"), LC),
    }


def test_u_shaped_with_lc_right_after_ft_is_fifty_fifty() -> None:
    won = journey(deal(4.5, closed=8, won=True), marketo_touches())
    assert table(run("u_shaped", won)) == {"t1": (pct("50"), FT), "t2": (pct("50"), LC)}


def test_single_position_models_and_linear() -> None:
    won = journey(deal(4.5, closed=8, won=True), marketo_touches())
    assert table(run("first_touch", won)) == {"t1": (Fraction(1), FT)}
    assert table(run("lead_creation", won)) == {"t2": (Fraction(1), LC)}
    assert table(run("last_touch", won)) == {"t5": (Fraction(1), OC)}
    linear = run("linear", won)
    assert [c.credit for c in linear.credits] == [Fraction(1, 9)] * 9
    assert [c.positions for c in linear.credits] == [FT, LC, MID, MID, OC, MID, MID, MID, CW]


def test_without_a_lead_creation_touch_the_first_touch_is_lc() -> None:
    touches = [touch("a", 0, "ad_click"), touch("b", 1), touch("c", 2)]
    j = journey(deal(3, closed=4, won=True), touches)
    assert table(run("lead_creation", j)) == {"a": (Fraction(1), ("FT", "LC"))}
    # U with FT = LC: no touch between them, the whole U goes to that touch.
    assert table(run("u_shaped", j)) == {"a": (Fraction(1), ("FT", "LC"))}
    assert table(run("full_path", j)) == {
        "a": (pct("45"), ("FT", "LC")), "b": (pct("10"), MID), "c": (pct("45"), ("OC", "CW")),
    }


def test_a_deal_with_one_touch() -> None:
    one = [touch("only", 0, "form_fill")]
    open_deal = journey(deal(1), one)
    for name in BUILTIN_MODELS:
        result = run(name, open_deal)
        expected = pct("77.5") if name == "full_path" else Fraction(1)
        assert table(result) == {"only": (expected, ("FT", "LC", "OC"))}, name
        assert result.pending == 1 - expected
    won = journey(deal(1, closed=2, won=True), one)
    assert table(run("full_path", won)) == {"only": (Fraction(1), ("FT", "LC", "OC", "CW"))}


def test_no_touch_before_the_creation_moves_the_oc_share_to_the_positioned_touches() -> None:
    touches = [touch("a", 0, "ad_click"), touch("b", 1, "form_fill"), touch("c", 2)]
    j = journey(deal(-1), touches)
    assert j.positions.oc is None
    # last_touch weighs only OC: nothing positioned exists, the touch nearest the creation
    # (the first one after it) takes it.
    assert table(run("last_touch", j)) == {"a": (Fraction(1), FT)}
    # OC's 30 % and the middle 10 % (no touch before the creation) split over FT and LC.
    assert table(run("w_shaped", j)) == {"a": (pct("50"), FT), "b": (pct("50"), LC)}
    full = run("full_path", j)
    assert table(full) == {
        "a": (pct("33.75"), FT), "b": (pct("33.75"), LC), "c": (pct("10"), MID),
    }
    assert full.pending == pct("22.5")


def test_a_deal_without_touches_is_unattributed() -> None:
    late = [touch("after-close", 30)]
    j = journey(deal(0, closed=10, won=True), late)
    for name, model in BUILTIN_MODELS.items():
        result = model.attribute(j)
        assert result.unattributed, name
        assert result.credits == () and result.pending == 0 and result.deal_id == "D1"


def test_time_decay_halves_every_seven_days_before_the_creation_of_an_open_deal() -> None:
    touches = [touch("a", 0), touch("b", 7), touch("c", 14)]
    result = run("time_decay", journey(deal(14), touches))
    # Weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7, rounded to 10⁻¹²; the spare unit goes to the largest
    # remainder (4/7's .571…).
    assert table(result) == {
        "a": (Fraction(142857142857, 10**12), ("FT", "LC")),
        "b": (Fraction(285714285714, 10**12), MID), "c": (Fraction(571428571429, 10**12), OC),
    }


def test_time_decay_counts_back_from_the_end_of_the_close_day_when_closed() -> None:
    touches = [touch("a", 0), touch("b", 7)]
    result = run("time_decay", journey(deal(2, closed=13, won=True), touches))
    # Reference: day 14 00:00 UTC; a is 14 days back (1/4), b 7 days (1/2) → 1/3 and 2/3.
    assert [c.credit for c in result.credits] == [
        Fraction(333333333333, 10**12), Fraction(666666666667, 10**12)]


def test_time_decay_touches_after_the_reference_weigh_as_much_as_one_on_it() -> None:
    touches = [touch("b", 1), touch("a", 5), touch("c", 9)]
    result = run("time_decay", journey(deal(0), touches))
    # Three equal weights: 333333333333.33… units each, the spare one to the smallest id.
    assert table(result) == {
        "a": (Fraction(333333333334, 10**12), MID),
        "b": (Fraction(333333333333, 10**12), ("FT", "LC")),
        "c": (Fraction(333333333333, 10**12), MID),
    }


def test_time_decay_half_life_is_a_setting() -> None:
    touches = [touch("a", 0), touch("b", 14)]
    result = TimeDecayModel("slow", half_life_days=14).attribute(journey(deal(14), touches))
    assert [c.credit for c in result.credits] == [
        Fraction(333333333333, 10**12), Fraction(666666666667, 10**12)]
    assert result.model == "slow"


def test_a_custom_model_with_a_closed_won_share() -> None:
    custom = PositionModel("sales_weighted", {
        Position.FT: pct("15"), Position.LC: pct("15"), Position.OC: pct("30"),
        Position.CW: pct("30")}, pct("10"))
    won = custom.attribute(journey(deal(4.5, closed=8, won=True), marketo_touches()))
    assert table(won) == {
        "t1": (pct("15"), FT), "t2": (pct("15"), LC), "t3": (pct("2"), MID),
        "t4": (pct("2"), MID), "t5": (pct("30"), OC), "t6": (pct("2"), MID),
        "t7": (pct("2"), MID), "t8": (pct("2"), MID), "t9": (pct("30"), CW),
    }
    still_open = custom.attribute(journey(deal(4.5), marketo_touches()))
    assert still_open.pending == pct("30")


def test_a_custom_model_without_middles_spreads_the_middle_share_over_its_positions() -> None:
    custom = PositionModel("ft_oc", {Position.FT: pct("50"), Position.OC: pct("40")},
                           pct("10"))
    touches = [touch("a", 0, "ad_click"), touch("b", 1)]
    assert table(custom.attribute(journey(deal(1), touches))) == {
        "a": (pct("55"), ("FT", "LC")), "b": (pct("45"), OC)}


def test_a_model_whose_shares_do_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="add up to 100"):
        PositionModel("bad", {Position.FT: pct("50")}, pct("40"))


def test_a_model_built_from_plain_values_behaves_like_one_built_from_enums() -> None:
    plain = PositionModel("plain_u", {"FT": Fraction(2, 5), "LC": Fraction(2, 5)},  # type: ignore[dict-item]
                          Fraction(1, 5), "between_ft_and_lc")  # type: ignore[arg-type]
    touches = [touch("a", 0, "ad_click"), touch("b", 1), touch("c", 2, "form_fill"),
               touch("d", 3)]
    j = journey(deal(5), touches)
    assert table(plain.attribute(j)) == table(BUILTIN_MODELS["u_shaped"].attribute(j))
    assert table(plain.attribute(j))["b"] == (pct("20"), MID)
