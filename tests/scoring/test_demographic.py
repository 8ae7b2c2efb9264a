"""Demographic rules: points while a condition on the person (or their account) holds."""

from __future__ import annotations

import pytest

from scoring.engine import score_person
from scoring.loader import load_scoring
from tests.scoring.helpers import NOW, ROOT, rules

RULES = rules("""
tokens: {decision_maker: 20}
demographic:
  - {name: VP, score: fit_score, points: "@decision_maker", when: "'vp' in (title or '')|lower"}
  - {name: Student, score: fit_score, points: -15, when: "title == 'Student'"}
  - {name: France, score: fit_score, points: 10, when: "country == 'FR'"}
  - {name: Big account, score: fit_score, points: 5, when: "account.employees >= 1000"}
  - {name: Enterprise, score: score_product_a, points: 7, when: "industry_segment == 'Enterprise'"}
""")


@pytest.mark.parametrize(
    ("person", "account", "fit", "product_a"),
    [
        ({"title": "VP Sales", "country": "FR"}, None, 30, 0),
        ({"title": "Student", "country": "FR"}, None, -5, 0),
        ({"title": "Student"}, None, -15, 0),
        ({"title": None}, {"employees": 5000}, 5, 0),
        ({"title": None}, {"employees": 10}, 0, 0),
        ({"attributes": {"industry_segment": "Enterprise"}}, None, 0, 7),
        ({"industry_segment": "Enterprise"}, {"attributes": {}}, 0, 7),
    ],
)
def test_demographic_points(person: dict, account: dict | None, fit: int, product_a: int) -> None:
    result = score_person(RULES, person, account, [], NOW)
    assert result["fit_score"] == fit
    assert result["score_product_a"] == product_a
    assert result["score"] == fit  # fit_score + behavior_score (0)


def test_points_go_when_the_condition_stops_holding() -> None:
    before = score_person(RULES, {"title": "VP Sales", "country": "FR"}, None, [], NOW)
    after = score_person(RULES, {"title": "Engineer", "country": "FR"}, None, [], NOW)
    assert before["fit_score"] == 30 and after["fit_score"] == 10
    assert [c.rule for c in after.contributions] == ["France"]


def test_breakdown_names_each_rule_in_file_order() -> None:
    result = score_person(RULES, {"title": "VP", "country": "FR"}, {"employees": 2000}, [], NOW)
    rows = [(c.rule, c.kind, c.score, c.points, c.after) for c in result.contributions]
    assert rows == [
        ("VP", "demographic", "fit_score", 20.0, 20.0),
        ("France", "demographic", "fit_score", 10.0, 10.0),
        ("Big account", "demographic", "fit_score", 5.0, 5.0),
    ]


def test_a_condition_that_fails_to_evaluate_counts_as_false_and_is_reported() -> None:
    broken = rules("""
    demographic:
      - {name: Odd, score: fit_score, points: 5, when: "title - 1 > 0"}
    """)
    result = score_person(broken, {"title": "VP"}, None, [], NOW)
    assert result["fit_score"] == 0
    assert len(result.problems) == 1 and result.problems[0].startswith("demographic 'Odd':")


@pytest.mark.parametrize(("title", "points"), [
    ("VP Sales", 20), ("Director of IT", 20), ("Chief of Staff", 20), ("Head of Growth", 20),
    ("CMO", 20), ("CFO, EMEA", 20), ("Cook", 0), ("Coordinator", 0), ("Engineer", 0), (None, 0),
])
def test_the_shipped_decision_maker_rule(title: str | None, points: int) -> None:
    shipped = load_scoring(ROOT / "mappings" / "scoring.yaml")
    scores = score_person(shipped, {"title": title}, None, [], NOW)
    assert scores.values["fit_score"] == points
    assert scores.problems == ()
