"""Scoring the hub: a run writes scores where they move, and only for what changed.

The shipped scoring file and hub.yaml, real hub rows on each backend.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core.hubschema import HubSchema
from core.models import Account, Campaign, Person
from jobs.engine import SyncContext
from jobs.hub_steps import run_hub_steps
from scoring.run import run_scoring
from scoring.spec import Scoring
from tests.touches.helpers import add, stored
from touches.record import TouchInput, record_touch

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)




def _touch(engine: Engine, person: Person, kind: str, at: datetime, **more: str) -> None:
    """A touch recorded as every source records one (``campaign_id``, ``channel``...)."""
    with Session(engine) as db:
        record_touch(db, TouchInput(person_id=person.id, occurred_at=at, touch_type=kind,
                                    origin="import", **more))
        db.commit()



def test_a_run_scores_what_changed_and_writes_only_what_moved(
    engine: Engine, schema: HubSchema, rules: Scoring
) -> None:
    acme = Account(name="Acme", employees=5000, industry="Software")
    ann = Person(email="ann@acme.example", title="VP Marketing", country="US",
                 account_id=acme.id)
    bo = Person(email="bo@gmail.com", title="Student")
    webinar = Campaign(name="Pipeline Math Live", type="Webinar", channel="Webinar")
    add(engine, acme, ann, bo, webinar)
    _touch(engine, ann, "webinar_attended", NOW - timedelta(days=1), channel="Webinar",
           campaign_id=webinar.id)

    first = run_scoring(engine, rules, schema, now=NOW)
    assert (first.mode, first.people, first.people_changed) == ("full", 2, 2)
    scored = stored(engine, Person, ann.id)
    # Decision maker 20 + target country 10 + enterprise account 15; a webinar's 40 (the
    # Webinar channel's token), one day of a 90-day half-life: 39.7 → 40.
    assert schema.get(scored, "fit_score") == 45
    assert schema.get(scored, "behavior_score") == 40
    assert scored.score == 85
    assert schema.get(stored(engine, Person, bo.id), "fit_score") == -30  # student, free email
    with Session(engine) as db:
        assert schema.get(db.get(Account, acme.id), "account_score") == 30

    quiet = run_scoring(engine, rules, schema, now=NOW)
    assert (quiet.mode, quiet.people_changed, quiet.accounts_changed) == ("incremental", 0, 0)
    # Its own score writes are no news to it: Bo is not read again. Acme's new account score
    # is (a person's rules may read it), so Acme and Ann are, and nothing moves.
    assert (quiet.people, quiet.accounts) == (1, 1)

    _touch(engine, bo, "form_fill", NOW - timedelta(hours=2))
    later = run_scoring(engine, rules, schema, now=NOW)
    assert later.people == 1 and later.people_changed == 1, later
    assert schema.get(stored(engine, Person, bo.id), "behavior_score") == 15



def test_the_hub_steps_score_people_the_pulls_changed(
    engine: Engine, schema: HubSchema, rules: Scoring
) -> None:
    """Scoring runs with the member touches, before attribution and the pushes."""
    cy = Person(email="cy@delta.example", title="Chief Revenue Officer", country="DE")
    add(engine, cy)
    ctx = SyncContext(engine, {}, schema, lambda name: None, scoring=rules)  # type: ignore[arg-type, return-value]
    report = run_hub_steps(ctx)
    assert report.scoring is not None and report.scoring.people_changed == 1
    assert schema.get(stored(engine, Person, cy.id), "fit_score") == 30
    assert run_hub_steps(ctx).scoring.people_changed == 0  # type: ignore[union-attr]
