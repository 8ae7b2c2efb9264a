"""Each rule kind against a real database (SQLite and PostgreSQL): when it holds, what it says."""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import Engine
from sqlmodel import select

from alerts.evaluate import evaluate_alerts
from alerts.rules import parse_alerts
from core.db import session
from core.models import AlertState
from tests.alerts.conftest import at

AddRun = Callable[..., object]
AddErrors = Callable[..., list[int]]


def evaluate(
    engine: Engine, text: str, minutes: float, watched: Collection[str] | None = None
) -> dict[tuple[str, str], AlertState]:
    """Evaluate the rules in ``text`` at BASE + minutes; every stored state by (rule, subject)."""
    rules = parse_alerts(text, "alerts.yaml", env={})
    assert evaluate_alerts(engine, rules, at(minutes), watched_mappings=watched) == []
    with session(engine) as db:
        return {(row.rule, row.subject): row for row in db.exec(select(AlertState))}


def active(states: dict[tuple[str, str], AlertState]) -> dict[tuple[str, str], str]:
    return {key: row.message or "" for key, row in states.items() if row.active}


RISING = "rules:\n  - {name: rising, condition: errors_rising, rise: 10, within: 15m}\n"


def test_errors_rising_fires_on_a_rise_within_the_window_and_ends_after_it(
    engine: Engine, add_errors: AddErrors
) -> None:
    add_errors("crm-lead", 19)
    add_errors("webinar", 50)  # many, but steady: not rising
    assert active(evaluate(engine, RISING, 0)) == {}
    add_errors("crm-lead", 5)
    assert active(evaluate(engine, RISING, 5)) == {}
    add_errors("crm-lead", 5)
    assert active(evaluate(engine, RISING, 11)) == {
        ("rising", "crm-lead"): "crm-lead has 29 open errors, up 10 from 19 11 min earlier; "
        "this rule fires when open errors rise by 10 within 15 min."
    }
    assert evaluate(engine, RISING, 14)["rising", "crm-lead"].active  # no repeat, still holds
    states = evaluate(engine, RISING, 20)  # the 19 of minute 0 has left the 15-minute window
    assert active(states) == {}
    assert states["rising", "crm-lead"].message == (
        "crm-lead has 29 open errors, up 5 from 24 15 min earlier; this rule fires when open "
        "errors rise by 10 within 15 min."
    )
    states = evaluate(engine, RISING, 27)  # only 29s within the last 15 minutes now
    assert active(states) == {}
    assert states["rising", "crm-lead"].message == (
        "crm-lead has 29 open errors, not rising; this rule fires when open errors rise by 10 "
        "within 15 min."
    )
    assert states["rising", "webinar"].last_value == 50


def test_resolved_errors_are_not_a_rise(
    engine: Engine, add_errors: AddErrors, resolve_errors: Callable[[str, list[int]], None]
) -> None:
    ids = add_errors("crm-lead", 12)
    evaluate(engine, RISING, 0)
    resolve_errors("crm-lead", ids[:6])
    evaluate(engine, RISING, 2)
    add_errors("crm-lead", 6)  # back to 12: up 6 from the low point, not 10
    assert active(evaluate(engine, RISING, 4)) == {}
    add_errors("crm-lead", 4)
    assert ("rising", "crm-lead") in active(evaluate(engine, RISING, 6))


def test_errors_rising_of_one_cause_counts_only_that_cause(
    engine: Engine, add_errors: AddErrors
) -> None:
    text = (
        "rules:\n  - name: picklist\n    condition: errors_rising\n"
        "    cause: {code: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, field: LeadSource}\n"
        "    rise: 3\n    within: 30m\n    mapping: crm-lead\n"
    )
    evaluate(engine, text, 0)
    add_errors("crm-lead", 10, code="REQUIRED_FIELD_MISSING")
    add_errors("crm-lead", 3, code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", field="Industry")
    add_errors("other", 5, code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", field="LeadSource")
    assert active(evaluate(engine, text, 5)) == {}
    add_errors("crm-lead", 3, code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", field="LeadSource")
    assert active(evaluate(engine, text, 10)) == {
        ("picklist", "crm-lead"): "crm-lead has 3 open errors (code "
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST on LeadSource), up 3 from 0 5 min earlier; "
        "this rule fires when open errors (code INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST on "
        "LeadSource) rise by 3 within 30 min."
    }


FAILING = "rules:\n  - {name: failing, condition: failing_runs, runs: 3}\n"


def test_failing_runs_fires_after_k_failures_in_a_row(engine: Engine, add_run: AddRun) -> None:
    add_run("crm-lead", "success", 0)
    add_run("crm-lead", "failed", 1)
    add_run("crm-lead", "failed", 2)
    add_run("webinar", "failed", 2)
    states = evaluate(engine, FAILING, 3)
    assert active(states) == {}
    assert states["failing", "crm-lead"].message == (
        "crm-lead failed its last 2 runs in a row; this rule fires when 3 runs in a row fail."
    )
    add_run("crm-lead", "crashed", 3)  # a run whose process died counts as failed
    add_run("crm-lead", "running", 4)  # still going: not an outcome yet
    assert active(evaluate(engine, FAILING, 4)) == {
        ("failing", "crm-lead"): "crm-lead failed its last 3 runs in a row; the latest started "
        "2026-03-01 09:03:00 UTC"
    }
    add_run("crm-lead", "failed", 5, message="[auth INVALID_LOGIN] invalid client credentials")
    assert active(evaluate(engine, FAILING, 6)) == {
        ("failing", "crm-lead"): "crm-lead failed its last 3 runs in a row; the latest, started "
        "2026-03-01 09:05:00 UTC, said: [auth INVALID_LOGIN] invalid client credentials"
    }
    add_run("crm-lead", "partial", 7)  # a cycle that ran, with record errors: not failing
    assert active(evaluate(engine, FAILING, 8)) == {}


STALE = "rules:\n  - {name: stale, condition: stale, after: 2h}\n"


def test_stale_fires_when_no_run_succeeded_for_the_period(engine: Engine, add_run: AddRun) -> None:
    add_run("crm-lead", "success", 30)  # finished 5 s later
    add_run("crm-lead", "failed", 60)
    add_run("webinar", "failed", 10)  # never succeeded: counted from its first run
    watched = ["crm-lead", "webinar", "new-mapping"]  # new-mapping has never run
    assert active(evaluate(engine, STALE, 90, watched)) == {}
    assert active(evaluate(engine, STALE, 131, watched)) == {
        ("stale", "webinar"): "webinar: no successful run for 2 h 01 min (no run has succeeded "
        "since the first one, 2026-03-01 09:10:00 UTC); this rule fires when no run succeeds "
        "for 2 h.",
    }
    assert active(evaluate(engine, STALE, 215, watched)) == {
        ("stale", "crm-lead"): "crm-lead: no successful run for 3 h 04 min (last successful run "
        "ended 2026-03-01 09:30:05 UTC); this rule fires when no run succeeds for 2 h.",
        ("stale", "webinar"): "webinar: no successful run for 3 h 25 min (no run has succeeded "
        "since the first one, 2026-03-01 09:10:00 UTC); this rule fires when no run succeeds "
        "for 2 h.",
        ("stale", "new-mapping"): "new-mapping: no successful run for 2 h 05 min (it has not run "
        "since alerts started watching it, 2026-03-01 10:30:00 UTC); this rule fires when no "
        "run succeeds for 2 h.",
    }
    add_run("crm-lead", "success", 216)
    assert ("stale", "crm-lead") not in active(evaluate(engine, STALE, 217, watched))


def test_stale_without_a_mapping_list_watches_every_mapping_that_ran(
    engine: Engine, add_run: AddRun
) -> None:
    add_run("crm-lead", "success", 0)
    assert list(active(evaluate(engine, STALE, 200))) == [("stale", "crm-lead")]


API = "rules:\n  - {name: api, condition: api_usage, above: 90%}\n"


def test_api_usage_fires_at_the_share_of_the_allowance(
    engine: Engine, set_usage: Callable[[str, int, int], None]
) -> None:
    set_usage("crm", 13_499, 15_000)
    set_usage("dynamics", 100, 60_000)
    assert active(evaluate(engine, API, 1)) == {}
    set_usage("crm", 13_500, 15_000)
    assert active(evaluate(engine, API, 2)) == {
        ("api", "crm"): "crm has used 13,500 of its 15,000 daily API calls (90%) as reported "
        "2026-03-01 09:00:00 UTC; this rule fires when API usage reaches 90% of the allowance."
    }
    named = "rules:\n  - {name: api, condition: api_usage, above: 1%, connection: dynamics}\n"
    assert active(evaluate(engine, named, 3)) == {}  # 0.17 %; crm is not watched by this rule


def test_paused_and_braked_hold_while_the_latest_run_is(engine: Engine, add_run: AddRun) -> None:
    text = ("rules:\n  - {name: paused, condition: paused}\n"
            "  - {name: braked, condition: braked, mapping: crm-lead}\n")
    budget = ("crm has used 12,001 of its 15,000 daily API calls (80%); cycles pause at 80% so "
              "people and other integrations keep the rest.")
    add_run("crm-lead", "paused", 0, message=budget)
    add_run("webinar", "braked", 0, message="would delete 40 of 200 linked records")
    assert active(evaluate(engine, text, 1)) == {
        ("paused", "crm-lead"): "crm-lead is paused: its latest run, started 2026-03-01 "
        f"09:00:00 UTC, said: {budget}",
    }
    add_run("crm-lead", "braked", 2, message="would blank Email on 30 of 100 linked records")
    states = evaluate(engine, text, 3)
    assert active(states) == {
        ("braked", "crm-lead"): "crm-lead is braked: its latest run, started 2026-03-01 "
        "09:02:00 UTC, said: would blank Email on 30 of 100 linked records",
    }
    assert states["paused", "crm-lead"].message == (
        "crm-lead is not paused: its latest run ended braked."
    )
