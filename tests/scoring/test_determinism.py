"""The same input in any order gives the same scores and the same breakdown."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import TouchFacts, score_person
from scoring.loader import load_scoring
from tests.scoring.helpers import NOW, ROOT

SHIPPED = load_scoring(ROOT / "mappings" / "scoring.yaml")
KINDS = ["webinar_attended", "webinar_registration", "form_fill", "web_visit", "email_click",
         "sales_touch", "content_download", "ad_click"]

_touch = st.builds(
    lambda i, hours, kind, channel, product: TouchFacts(
        id=f"t{i}", occurred_at=NOW - timedelta(hours=hours), touch_type=kind, channel=channel,
        detail={"product": product, "outcome": "disqualified"},
    ),
    st.integers(0, 10_000), st.integers(0, 24 * 200), st.sampled_from(KINDS),
    st.sampled_from([None, "Webinar", "Email"]), st.sampled_from(["A", "B"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_touch, max_size=25, unique_by=lambda t: t.id), st.randoms())
def test_order_of_touches_does_not_matter(touches: list[TouchFacts], rnd: object) -> None:
    person = {"title": "Director", "country": "US"}
    shuffled = list(touches)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = score_person(SHIPPED, person, None, touches, NOW)
    second = score_person(SHIPPED, person, None, shuffled, NOW)
    assert first == second


def test_same_time_touches_apply_by_id() -> None:
    at = NOW - timedelta(days=1)
    touches = [TouchFacts(id=i, occurred_at=at, touch_type="form_fill") for i in "cab"]
    result = score_person(SHIPPED, {}, None, touches, NOW)
    assert [(c.touch_id, c.capped_by) for c in result.contributions
            if c.rule == "Filled in a form"] == [("a", None), ("b", None), ("c", "per_day")]
