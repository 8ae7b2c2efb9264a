from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifecycle.engine import Facts, Move, next_stage, qualify
from lifecycle.loader import load_lifecycle
from lifecycle.spec import Lifecycle

SHIPPED = Path(__file__).resolve().parents[2] / "mappings" / "lifecycle.yaml"
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules() -> Lifecycle:
    loaded = load_lifecycle(SHIPPED)
    assert loaded is not None
    return loaded


def _move(rules: Lifecycle, **facts: object) -> Move | None:
    return next_stage(rules, Facts(**facts), NOW)  # type: ignore[arg-type]


def test_a_new_person_with_an_email_becomes_known(rules: Lifecycle) -> None:
    move = _move(rules, fields={"email": "ann@example.com"})
    assert move == Move(None, "Known", "transitions[0]", "email holds")


def test_the_nearest_stage_ahead_whose_rule_fires_wins_one_step_at_a_time(
    rules: Lifecycle,
) -> None:
    fields = {"email": "ann@example.com", "behavior_score": 40, "score": 70, "fit_score": 25}
    assert _move(rules, fields=fields) == Move(None, "Known", "transitions[0]", "email holds")
    move = _move(rules, fields=fields, stage="Known")
    assert move == Move("Known", "Engaged", "transitions[1]", "behavior_score >= 15 holds")
    move = _move(rules, fields=fields, stage="Engaged")
    assert move is not None and (move.to_stage, move.rule) == ("MQL", "transitions[2]")
    assert move.reason == "aql or (score >= 60 and fit_score >= 20) holds"
    # A stage whose rule does not hold is skipped: not engaged, but on a new deal.
    deal = datetime(2026, 11, 2, tzinfo=UTC)
    move = _move(rules, fields={"email": "bo@example.com"}, stage="Known",
                 opportunity_created_at=deal)
    assert move is not None and move.to_stage == "Opportunity"


def test_forward_only_a_lower_score_never_moves_a_person_back(rules: Lifecycle) -> None:
    # At SQL with only enough for Known/Engaged: those rules fire, but they are behind.
    fields = {"email": "ann@example.com", "behavior_score": 40, "score": 10}
    assert _move(rules, fields=fields, stage="SQL") is None
    assert _move(rules, fields=fields, stage="Engaged") is None  # already there


def test_a_forward_rule_to_an_earlier_stage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lifecycle.yaml"
    path.write_text("stages: [Known, MQL, SQL]\n"
                    "transitions:\n  - {to: Known, when: email}\n", encoding="utf-8")
    rules = load_lifecycle(path)
    assert rules is not None
    assert next_stage(rules, Facts(fields={"email": "a@b.c"}, stage="SQL"), NOW) is None
    # The same move with recycle: true is allowed.
    path.write_text("stages: [Known, MQL, SQL]\n"
                    "transitions:\n  - {to: Known, when: email, recycle: true}\n",
                    encoding="utf-8")
    rules = load_lifecycle(path)
    assert rules is not None
    move = next_stage(rules, Facts(fields={"email": "a@b.c"}, stage="SQL"), NOW)
    assert move is not None and (move.from_stage, move.to_stage) == ("SQL", "Known")


def test_sales_rejecting_a_lead_in_the_crm_recycles_it(rules: Lifecycle) -> None:
    fields = {"email": "ann@example.com", "score": 70, "fit_score": 25,
              "lead_status": "recycled"}
    move = _move(rules, fields=fields, stage="SAL")
    assert move == Move("SAL", "Recycled", "transitions[9]", "CRM: lead_status is 'recycled'",
                        from_crm=True)
    # A sales decision outranks scoring: a Known lead with MQL scores is still disqualified.
    fields["lead_status"] = "Disqualified"
    move = _move(rules, fields=fields, stage="Known")
    assert move is not None and move.to_stage == "Disqualified"


def test_a_crm_status_moves_a_lead_forward(rules: Lifecycle) -> None:
    move = _move(rules, fields={"lead_status": "Working"}, stage="MQL")
    assert move == Move("MQL", "SAL", "transitions[5]", "CRM: lead_status is 'Working'",
                        from_crm=True)
    # The rule lists from: [MQL]; a Known lead does not skip ahead on a CRM status.
    assert _move(rules, fields={"lead_status": "Working"}, stage="Known") is None


def test_a_recycled_lead_stays_until_a_rule_names_its_detour(rules: Lifecycle) -> None:
    fields = {"email": "ann@example.com", "behavior_score": 40, "lead_status": "Recycled"}
    assert _move(rules, fields=fields, stage="Recycled") is None  # Known/Engaged: not from here
    fields |= {"score": 80, "fit_score": 30}
    handed_back = NOW - timedelta(days=3)
    # The scores sales handed it back with do not qualify it again: a new touch must come.
    assert _move(rules, fields=fields, stage="Recycled", stage_since=handed_back,
                 last_touch_at=handed_back - timedelta(days=1)) is None
    move = _move(rules, fields=fields, stage="Recycled", stage_since=handed_back,
                 last_touch_at=NOW - timedelta(days=1))
    assert move is not None and (move.from_stage, move.to_stage) == ("Recycled", "MQL")
    assert move.rule == "transitions[3]" and move.reason.startswith("touched_since_stage and")


def test_opportunity_created_then_won(rules: Lifecycle) -> None:
    created = datetime(2026, 11, 2, tzinfo=UTC)
    move = _move(rules, stage="SQL", opportunity_created_at=created)
    assert move == Move("SQL", "Opportunity", "transitions[7]",
                        "contact role on an opportunity created 2026-11-02")
    # From a detour too (from: any), through Opportunity to Customer when the deal is won.
    move = _move(rules, stage="Nurture", opportunity_created_at=created,
                 opportunity_won_at=NOW)
    assert move is not None and (move.from_stage, move.to_stage) == ("Nurture", "Opportunity")
    move = _move(rules, stage="Opportunity", opportunity_created_at=created,
                 opportunity_won_at=NOW)
    assert move == Move("Opportunity", "Customer", "transitions[8]",
                        "contact role on an opportunity won 2026-12-07")
    assert _move(rules, stage="Customer", opportunity_created_at=created,
                 opportunity_won_at=NOW) is None


def test_idle_days_sends_a_quiet_lead_to_nurture(rules: Lifecycle) -> None:
    old = NOW - timedelta(days=120)
    move = _move(rules, stage="Engaged", last_touch_at=old,
                 stage_entered_at={"Engaged": NOW - timedelta(days=200)})
    assert move == Move("Engaged", "Nurture", "transitions[11]",
                        "no touch for 120 days (last touch 2026-08-09)")
    # A recent touch, or a recent arrival in the stage, keeps it.
    assert _move(rules, stage="Engaged", last_touch_at=NOW - timedelta(days=10)) is None
    assert _move(rules, stage="Engaged", last_touch_at=old,
                 stage_entered_at={"Engaged": NOW - timedelta(days=5)}) is None
    # Nothing to measure from: no verdict.
    assert _move(rules, stage="Engaged") is None
    # Not from a stage the rule does not list.
    assert _move(rules, stage="SQL", last_touch_at=old) is None


def test_an_unknown_current_stage_counts_as_none(rules: Lifecycle) -> None:
    move = _move(rules, fields={"email": "a@b.c"}, stage="Lead")
    assert move is not None and (move.from_stage, move.to_stage) == (None, "Known")


def test_an_expression_that_fails_on_a_value_does_not_fire(rules: Lifecycle) -> None:
    assert _move(rules, fields={"behavior_score": "lots"}, stage="Known") is None


GOOD = {"title": "VP Marketing", "first_name": "Ann", "last_name": "Lee",
        "phone": "", "email": "ann@example.com", "company": "Acme", "behavior_score": 45}


@pytest.mark.parametrize(("change", "account", "part", "detail"), [
    ({"title": "Marketing Intern"}, {"account_score": 60}, "titles",
     "title 'Marketing Intern' matches none of the qualifying titles"),
    ({"title": None}, {"account_score": 60}, "titles", "no title"),
    ({"last_name": "  "}, {"account_score": 60}, "complete", "blank: last_name"),
    ({"email": None}, {"account_score": 60}, "complete", "blank: phone or email"),
    ({"behavior_score": 29}, {"account_score": 60}, "behavior_score", "behavior_score 29 < 30"),
    ({"behavior_score": None}, {"account_score": 60}, "behavior_score",
     "behavior_score has no value (needs at least 30)"),
    ({}, {"account_score": 39.5}, "account_score", "account_score 39.5 < 40"),
    ({}, {}, "account_score", "account_score has no value (needs at least 40)"),
])
def test_each_aql_part_failing_alone_fails_the_rule(
    rules: Lifecycle, change: dict[str, object], account: dict[str, object], part: str,
    detail: str,
) -> None:
    assert rules.aql is not None
    result = qualify(rules.aql, Facts(fields=GOOD | change, account=account))
    assert not result.passed
    failed = [(p.name, p.detail) for p in result.parts if not p.passed]
    assert failed == [(part, detail)]


def test_aql_passes_with_all_four_parts(rules: Lifecycle) -> None:
    assert rules.aql is not None
    result = qualify(rules.aql, Facts(fields=GOOD, account={"account_score": 40}))
    assert result.passed
    assert [(p.name, p.detail) for p in result.parts] == [
        ("titles", "title 'VP Marketing' matches VP"),
        ("complete", "all filled"),
        ("behavior_score", "behavior_score 45 >= 30"),
        ("account_score", "account_score 40 >= 40"),
    ]


@pytest.mark.parametrize(("title", "passed"), [
    ("cfo", True), ("CMO, EMEA", True), ("Head of Growth", True), ("Coordinator", False),
    ("Director of Sales", True), ("Co-Founder", True),
])
def test_titles_match_substrings_and_regexes_without_case(
    rules: Lifecycle, title: str, passed: bool
) -> None:
    assert rules.aql is not None
    result = qualify(rules.aql, Facts(fields=GOOD | {"title": title},
                                      account={"account_score": 90}))
    assert result.parts[0].passed is passed


def test_the_account_score_may_sit_on_the_person(rules: Lifecycle) -> None:
    assert rules.aql is not None
    assert qualify(rules.aql, Facts(fields=GOOD | {"account_score": 70})).passed
