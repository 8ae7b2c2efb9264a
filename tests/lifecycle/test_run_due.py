"""Idle timers over time: a run moves a person whose ``idle_days`` came, with no change to them.

The shipped lifecycle file (no touch for 90 days: Nurture), real hub rows on each backend,
simulated time through ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.clock import as_utc
from core.hubschema import HubSchema
from core.models import LifecycleHistory, Person
from core.sequence import current_seq
from lifecycle.run import run_lifecycle
from lifecycle.spec import Lifecycle
from tests.touches.helpers import add, stored
from touches.record import TouchInput, record_touch

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)





def _seq(engine: Engine) -> int:
    with Session(engine) as db:
        return current_seq(db)


def test_an_idle_person_goes_to_nurture_when_the_timer_runs_out(
    engine: Engine, schema: HubSchema, lifecycle: Lifecycle
) -> None:
    ann = Person(email="ann@acme.example")
    bo = Person(email="bo@beta.example")
    add(engine, ann, bo)
    with Session(engine) as db:  # Ann's last touch, 30 days ago; Bo has none
        record_touch(
            db,
            TouchInput(
                person_id=ann.id,
                occurred_at=NOW - timedelta(days=30),
                touch_type="email_click",
                origin="import",
            ),
        )
        db.commit()

    first = run_lifecycle(engine, lifecycle, schema, now=NOW)
    assert (first.mode, first.people, first.moved) == ("full", 2, 2)
    # Both are Known since now: 90 days from now, later than Ann's touch + 90 days.
    assert [stored(engine, Person, p.id).lifecycle_stage for p in (ann, bo)] == ["Known", "Known"]
    due = NOW + timedelta(days=90)
    assert as_utc(stored(engine, Person, ann.id).stage_due_at) == due  # type: ignore[arg-type]
    # Bo touches something 10 days later: his timer starts again from that touch.
    with Session(engine) as db:
        record_touch(
            db,
            TouchInput(
                person_id=bo.id,
                occurred_at=NOW + timedelta(days=10),
                touch_type="email_click",
                origin="import",
            ),
        )
        db.commit()
    assert run_lifecycle(engine, lifecycle, schema, now=NOW + timedelta(days=10)).moved == 0
    assert as_utc(stored(engine, Person, bo.id).stage_due_at) == due + timedelta(days=10)  # type: ignore[arg-type]
    assert run_lifecycle(engine, lifecycle, schema, now=NOW + timedelta(days=10)).people == 0

    seq = _seq(engine)
    early = run_lifecycle(engine, lifecycle, schema, now=due - timedelta(seconds=1))
    assert (early.people, early.moved) == (0, 0)
    assert _seq(engine) == seq

    ran = run_lifecycle(engine, lifecycle, schema, now=due)
    # Ann alone: nothing of hers changed, her timer ran out; Bo's runs ten days more.
    assert (ran.mode, ran.people, ran.people_due, ran.moved) == ("incremental", 1, 1, 1)
    moved = stored(engine, Person, ann.id)
    assert moved.lifecycle_stage == "Nurture"
    assert moved.stage_entered_at["Nurture"] == due.isoformat()
    assert moved.stage_due_at is None  # no idle rule leads out of Nurture
    assert stored(engine, Person, bo.id).lifecycle_stage == "Known"
    with Session(engine) as db:
        last = db.exec(
            select(LifecycleHistory)
            .where(LifecycleHistory.person_id == ann.id)
            .order_by(LifecycleHistory.id.desc())
        ).first()  # type: ignore[union-attr]
    assert last is not None
    assert (last.from_stage, last.to_stage, as_utc(last.at)) == ("Known", "Nurture", due)
    assert last.reason == "no touch for 90 days (last stage change 2026-12-07)"
