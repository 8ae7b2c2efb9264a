"""Decay over simulated time: half-life, minus every N days, and when it next changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scoring.engine import next_decay_at, score_person
from tests.scoring.helpers import NOW, rules, touch

HALF = rules("""
demographic:
  - {name: Fit, score: behavior_score, points: 10, when: "true"}
behavioral:
  - {name: Webinar, score: behavior_score, points: 40, touch: {type: webinar_attended}}
  - {name: Penalty, score: score_product_a, points: -8, touch: {type: other}}
decay:
  - {score: behavior_score, half_life_days: 30}
  - {score: score_product_a, half_life_days: 10}
""")

STEP = rules("""
behavioral:
  - {name: Webinar, score: behavior_score, points: 20, touch: {type: webinar_attended}}
  - {name: Form, score: score_product_a, points: 12, touch: {type: form_fill}}
decay:
  - {score: behavior_score, minus: 5, every_days: 30}
  - {score: score_product_a, minus: 5, every_days: 30, without_touch: true}
""")


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 50), (30, 30), (60, 20), (90, 15), (15, 38), (300, 10)],  # 10 + 40·2^(−days/30)
)
def test_half_life_decays_behavioural_points_only(days: float, expected: int) -> None:
    result = score_person(HALF, {}, None, [touch("w", days)], NOW)
    assert result["behavior_score"] == expected
    webinar = [c for c in result.contributions if c.rule == "Webinar"][0]
    assert webinar.points == 40.0
    assert webinar.decayed == pytest.approx(40 - webinar.after)


def test_a_penalty_fades_towards_zero() -> None:
    result = score_person(HALF, {}, None, [touch("p", 10, "other")], NOW)
    assert result["score_product_a"] == -4


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 20), (29.9, 20), (30, 15), (65, 10), (119, 5), (120, 0), (400, 0)],
)
def test_minus_every_days_per_touch_never_below_zero(days: float, expected: int) -> None:
    assert score_person(STEP, {}, None, [touch("w", days)], NOW)["behavior_score"] == expected


@pytest.mark.parametrize(
    ("form_days", "last_days", "expected"),
    [
        (100, None, 0),  # 3 periods without a touch: 12 − 15, not below 0
        (25, 10, 12),  # no whole period between touches or since
        (50, 40, 7),  # a later touch (any kind) restarts the count: one period since it
        (70, 25, 7),  # a 45-day gap loses one period; 25 days since the last touch: none
        (100, 40, 0),  # lost for good: two periods in the gap, one since (12 − 15 → 0)
    ],
)
def test_minus_every_days_without_touch(form_days: float, last_days: float | None,
                                        expected: int) -> None:
    touches = [touch("f", form_days, "form_fill")]
    if last_days is not None:
        touches.append(touch("later", last_days, "web_visit"))
    assert score_person(STEP, {}, None, touches, NOW)["score_product_a"] == expected


def test_next_decay_at_is_when_the_rounded_score_changes() -> None:
    touches = [touch("w", 0)]
    at = next_decay_at(HALF, {}, None, touches, NOW)
    assert at is not None and at > NOW
    now_value = score_person(HALF, {}, None, touches, NOW)["behavior_score"]
    assert score_person(HALF, {}, None, touches, at)["behavior_score"] != now_value
    just_before = at - timedelta(seconds=2)
    assert score_person(HALF, {}, None, touches, just_before)["behavior_score"] == now_value


def test_next_decay_at_steps_and_nothing_to_decay() -> None:
    touches = [touch("w", 10)]
    assert next_decay_at(STEP, {}, None, touches, NOW) == NOW + timedelta(days=20)
    assert next_decay_at(STEP, {}, None, [], NOW) is None
    assert next_decay_at(STEP, {}, None, [touch("old", 200)], NOW) is None
    assert next_decay_at(HALF, {}, None, [], NOW) is None


def test_simulated_months_of_decay_only_go_down_and_stop() -> None:
    touches = [touch("w", 0)]
    seen = []
    at = NOW
    while (at := next_decay_at(HALF, {}, None, touches, at)) is not None:
        seen.append(score_person(HALF, {}, None, touches, at)["behavior_score"])
    assert seen == list(range(49, 9, -1))  # one step at a time, down to the fit points


def test_without_touch_spares_points_cancelled_by_a_reset() -> None:
    reset = rules("""
    behavioral:
      - {name: Form, score: behavior_score, points: 12, touch: {type: form_fill}}
      - {name: Restart, score: behavior_score, points: "=4", touch: {type: event}}
    decay:
      - {score: behavior_score, minus: 5, every_days: 30, without_touch: true}
    """)
    touches = [touch("f", 100, "form_fill"), touch("e", 65, "event")]
    result = score_person(reset, {}, None, touches, NOW)
    # 35 days before the reset cost the form 5 (gone anyway); 65 days since cost the reset 4.
    assert result["behavior_score"] == 0
    assert [(c.rule, c.after) for c in result.contributions] == [("Form", 0.0), ("Restart", 0.0)]
    assert score_person(reset, {}, None, touches, NOW - timedelta(days=30))["behavior_score"] == 0
    assert score_person(reset, {}, None, touches, NOW - timedelta(days=40))["behavior_score"] == 4
