"""Decay over time: a run picks up the people whose next decay step has come, and no one else.

The shipped scoring file (behaviour points halve every 90 days), real hub rows on each backend,
simulated time through ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core.clock import as_utc
from core.hubschema import HubSchema
from core.models import Account, Person
from core.sequence import current_seq
from scoring.run import run_scoring
from scoring.spec import Scoring
from tests.touches.helpers import add, stored
from touches.record import TouchInput, record_touch

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)




def _touch(engine: Engine, person: Person, kind: str, at: datetime, **more: str) -> None:
    with Session(engine) as db:
        record_touch(
            db,
            TouchInput(
                person_id=person.id, occurred_at=at, touch_type=kind, origin="import", **more
            ),
        )
        db.commit()



def _seq(engine: Engine) -> int:
    with Session(engine) as db:
        return current_seq(db)


def test_decay_is_written_by_an_incremental_run_when_it_is_due_and_not_before(
    engine: Engine, schema: HubSchema, rules: Scoring
) -> None:
    ann = Person(email="ann@acme.example", title="Engineer")
    bo = Person(email="bo@beta.example", title="Engineer")  # no touch: nothing ever decays
    cy = Person(email="cy@gamma.example", title="Engineer")
    add(engine, ann, bo, cy)
    # A webinar's 40 points 200 days ago: 40 × 0.5^(200/90) = 8.57, shown as 9.
    _touch(engine, ann, "webinar_attended", NOW - timedelta(days=200), channel="Webinar")
    # A form's 15 points 10 days ago: 14, and 13 only in more than three days.
    _touch(engine, cy, "form_fill", NOW - timedelta(days=10))

    first = run_scoring(engine, rules, schema, now=NOW)
    assert (first.mode, first.people) == ("full", 3)
    assert schema.get(stored(engine, Person, ann.id), "behavior_score") == 9
    assert schema.get(stored(engine, Person, cy.id), "behavior_score") == 14
    assert stored(engine, Person, bo.id).score_due_at is None
    due = as_utc(stored(engine, Person, ann.id).score_due_at)  # type: ignore[arg-type]
    # 8.5 is reached at 90 × log2(40 / 8.5) ≈ 201.1 days: about a day from now.
    assert NOW + timedelta(hours=24) < due < NOW + timedelta(hours=30)
    assert as_utc(stored(engine, Person, cy.id).score_due_at) > due  # type: ignore[arg-type]
    # The first run's own writes come back once as news and are found unchanged.
    assert run_scoring(engine, rules, schema, now=NOW).people_changed == 0

    seq = _seq(engine)
    before = run_scoring(engine, rules, schema, now=due - timedelta(seconds=1))
    assert (before.people, before.people_changed) == (0, 0)
    assert _seq(engine) == seq  # nothing written, not even a due time
    assert schema.get(stored(engine, Person, ann.id), "behavior_score") == 9

    decayed = run_scoring(engine, rules, schema, now=due)
    # Ann alone is scored again: Bo and Cy have nothing due, nothing of theirs changed.
    assert (decayed.mode, decayed.people, decayed.people_due, decayed.people_changed) == (
        "incremental",
        1,
        1,
        1,
    )
    scored = stored(engine, Person, ann.id)
    assert (schema.get(scored, "behavior_score"), scored.score) == (8, 8)
    assert as_utc(scored.score_due_at) > due  # type: ignore[arg-type]
    assert _seq(engine) == seq + 1  # the score's one hub write (the mappings push it)
    assert run_scoring(engine, rules, schema, now=due).people_changed == 0
    assert run_scoring(engine, rules, schema, now=due).people == 0


def test_a_touch_dated_later_is_scored_at_its_time(
    engine: Engine, schema: HubSchema, rules: Scoring
) -> None:
    """A webinar recorded ahead of its date counts from that date on, with no other change."""
    dee = Person(email="dee@delta.example", title="Engineer")
    add(engine, dee)
    _touch(engine, dee, "webinar_attended", NOW + timedelta(days=2), channel="Webinar")
    run_scoring(engine, rules, schema, now=NOW)
    assert schema.get(stored(engine, Person, dee.id), "behavior_score") == 0
    assert as_utc(stored(engine, Person, dee.id).score_due_at) == NOW + timedelta(days=2)  # type: ignore[arg-type]
    later = run_scoring(engine, rules, schema, now=NOW + timedelta(days=2))
    assert (later.people, later.people_changed) == (1, 1)
    assert schema.get(stored(engine, Person, dee.id), "behavior_score") == 40


def test_an_accounts_breadth_counts_the_people_touched_in_its_window(
    engine: Engine, schema: HubSchema, rules: Scoring
) -> None:
    """A run reads an account's touches of the last 90 days only; the rules see the same."""
    recent, stale = Account(name="Recent", employees=10), Account(name="Stale", employees=10)
    people = [
        Person(email=f"p{i}@x.example", account_id=a.id)
        for i, a in enumerate((recent, recent, stale, stale))
    ]
    add(engine, recent, stale, *people)
    for person, days in zip(people, (10, 29, 31, 200), strict=True):
        _touch(engine, person, "email_click", NOW - timedelta(days=days))
    run_scoring(engine, rules, schema, now=NOW)
    with Session(engine) as db:
        # Two people within 30 days: "Several people engaged" (15); one only at Stale.
        assert schema.get(db.get(Account, recent.id), "account_score") == 15  # type: ignore[arg-type]
        assert schema.get(db.get(Account, stale.id), "account_score") == 0  # type: ignore[arg-type]
