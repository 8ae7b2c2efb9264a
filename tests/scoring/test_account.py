"""Account score: firmographic rules and engagement breadth."""

from __future__ import annotations

import pytest

from scoring.engine import TouchFacts, score_account
from tests.scoring.helpers import NOW, rules, touch

RULES = rules("""
account:
  - {name: Large, points: 20, when: "employees >= 1000"}
  - {name: Gold, points: 10, when: "tier == 'Gold'"}
  - {name: Not a fit, points: -30, when: "industry == 'Education'"}
  - {name: Engaged, points: 15, min_people: 2, touched_within_days: 30}
  - {name: Committee, points: 25, min_people: 2, touched_within_days: 90,
     touch: {type: webinar_attended}, when: "employees >= 100"}
""")


@pytest.mark.parametrize(
    ("account", "people", "expected"),
    [
        ({"employees": 5000}, {}, 20),
        ({"employees": 5000, "attributes": {"tier": "Gold"}}, {}, 30),
        ({"industry": "Education", "employees": 50}, {}, -30),
        ({}, {"a": [touch("1", 5, "form_fill")], "b": [touch("2", 29, "web_visit")]}, 15),
        ({}, {"a": [touch("1", 5, "form_fill")], "b": [touch("2", 31, "web_visit")]}, 0),
        ({}, {"a": [touch("1", 5), touch("1b", 6)]}, 0),  # one person, however many touches
        ({"employees": 500}, {"a": [touch("1", 60)], "b": [touch("2", 80)]}, 25),
        ({"employees": 50}, {"a": [touch("1", 60)], "b": [touch("2", 80)]}, 0),
        ({"employees": 500}, {"a": [touch("1", 5)], "b": [touch("2", 10)]}, 40),
        ({"employees": 500}, {"a": [touch("1", 5)], "b": [touch("2", -1)]}, 0),  # future
    ],
)
def test_account_score(account: dict, people: dict[str, list[TouchFacts]], expected: int) -> None:
    assert score_account(RULES, account, people, NOW)["account_score"] == expected


def test_breadth_contribution_names_the_people_counted() -> None:
    people = {"b": [touch("2", 3)], "a": [touch("1", 5)], "c": [touch("3", 300)]}
    result = score_account(RULES, {}, people, NOW)
    assert [(c.rule, c.people) for c in result.contributions] == [("Engaged", ("a", "b"))]
