"""Behavioural rules: points per matching touch, tokens and overrides, caps, and ``=N``."""

from __future__ import annotations

import pytest

from scoring.engine import TouchFacts, score_person
from tests.scoring.helpers import NOW, rules, touch

RULES = rules("""
tokens: {webinar: 30, form: 10}
overrides:
  - {channel: Webinar, tokens: {webinar: 40}}
  - {campaign: "Launch", tokens: {webinar: 50}}
behavioral:
  - {name: Webinar, score: behavior_score, points: "@webinar", touch: {type: webinar_attended}}
  - {name: Form, score: behavior_score, points: "@form", touch: {type: form_fill},
     cap: {per_day: 20, total: 50}}
  - {name: LinkedIn ad, score: behavior_score, points: 5,
     touch: {type: ad_click, utm_source: [linkedin, li]}}
  - {name: Pricing, score: behavior_score, points: 3, touch: {type: web_visit},
     when: "'/pricing' in (landing_page or '')"}
  - {name: Product A, score: score_product_a, points: 10, touch: {detail.product: A}}
  - {name: Unsubscribed, score: behavior_score, points: -25, touch: {type: other},
     when: "detail.reason == 'unsubscribe'"}
  - {name: Disqualified, score: behavior_score, points: "=0", touch: {type: sales_touch}}
  - {name: Requalified, score: behavior_score, points: "=12", touch: {type: event}}
""")


def _behaviour(*touches: TouchFacts) -> int | None:
    return score_person(RULES, {}, None, list(touches), NOW)["behavior_score"]


@pytest.mark.parametrize(
    ("touches", "expected"),
    [
        ([touch("1", 1)], 30),  # the file's token
        ([touch("1", 1, channel="webinar")], 40),  # the channel's override (no case)
        ([touch("1", 1, channel="Webinar", campaign="Launch")], 50),  # campaign beats channel
        ([touch("1", 1, campaign="Other", channel="Email")], 30),
        ([touch("1", 1, "ad_click", source="LinkedIn")], 5),
        ([touch("1", 1, "ad_click", source="li")], 5),
        ([touch("1", 1, "ad_click", source="google")], 0),
        ([touch("1", 1, "web_visit", landing_page="https://x.io/pricing")], 3),
        ([touch("1", 1, "web_visit", landing_page=None)], 0),
        ([touch("1", 1), touch("2", 0.5, "other", detail={"reason": "unsubscribe"})], 5),
    ],
)
def test_points_per_matching_touch(touches: list[TouchFacts], expected: int) -> None:
    assert _behaviour(*touches) == expected


def test_detail_keys_match_and_feed_another_score() -> None:
    result = score_person(RULES, {}, None, [touch("1", 1, "content_download",
                                                  detail={"product": "a"})], NOW)
    assert result["score_product_a"] == 10 and result["behavior_score"] == 0


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        ([1.1, 1.2], 20),  # two on one day: 10 + 10
        ([1.1, 1.2, 1.3], 20),  # a third the same day is cut by per_day
        ([1.1, 1.2, 2.1, 2.2, 3.1, 3.2], 50),  # total 50 across days
        ([1.1, 2.1, 3.1, 4.1, 5.1, 6.1, 7.1], 50),
    ],
)
def test_caps_per_day_and_total(forms: list[float], expected: int) -> None:
    touches = [touch(f"f{i}", days, "form_fill") for i, days in enumerate(forms)]
    assert _behaviour(*touches) == expected


def test_a_cap_that_cuts_is_in_the_breakdown() -> None:
    touches = [touch(f"f{i}", 1 + i / 100, "form_fill") for i in range(3)]
    result = score_person(RULES, {}, None, touches, NOW)
    last = result.contributions[-1]
    assert (last.touch_id, last.points, last.requested, last.capped_by) == ("f0", 0.0, 10.0,
                                                                            "per_day")


def test_a_cap_cuts_to_what_is_left() -> None:
    capped = rules("""
    behavioral:
      - {name: Visit, score: behavior_score, points: 4, touch: {type: web_visit},
         cap: {per_day: 10}}
    """)
    touches = [touch(f"v{i}", 1 + i / 100, "web_visit") for i in range(3)]
    result = score_person(capped, {}, None, touches, NOW)
    assert [c.points for c in result.contributions] == [4.0, 4.0, 2.0]
    assert result["behavior_score"] == 10


def test_set_score_cancels_earlier_behavioural_points() -> None:
    result = score_person(RULES, {}, None, [
        touch("w1", 5), touch("s1", 4, "sales_touch"), touch("f1", 3, "form_fill"),
    ], NOW)
    assert result["behavior_score"] == 10
    webinar, reset, form = result.contributions
    assert (webinar.after, webinar.reset_by) == (0.0, "Disqualified at touch s1")
    assert (reset.reset, reset.points) == (True, 0.0)
    assert form.after == 10.0


def test_set_score_to_a_number_then_more_points() -> None:
    assert _behaviour(touch("w1", 5), touch("e1", 4, "event"), touch("w2", 3)) == 42


def test_touches_after_now_or_without_time_are_left_out() -> None:
    undated = TouchFacts(id="x", occurred_at=None, touch_type="webinar_attended")
    assert _behaviour(touch("future", -1), undated) == 0


def test_combined_score_reads_the_rounded_parts() -> None:
    both = rules("""
    demographic:
      - {name: Any, score: fit_score, points: 2.5, when: "true"}
    behavioral:
      - {name: Visit, score: behavior_score, points: 2.5, touch: {type: web_visit}}
    """)
    result = score_person(both, {}, None, [touch("v", 0, "web_visit")], NOW)
    assert (result["fit_score"], result["behavior_score"], result["score"]) == (3, 3, 6)
