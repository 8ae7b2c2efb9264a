"""Lifecycle stages on real hub rows: moves with history, AQL kept, quiet runs write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.hubschema import HubSchema
from core.models import (
    Account,
    LifecycleHistory,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)
from lifecycle.run import run_lifecycle
from lifecycle.spec import Lifecycle
from tests.touches.helpers import add, stored

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)





def test_people_move_forward_with_history_and_aql(
    engine: Engine, schema: HubSchema, lifecycle: Lifecycle
) -> None:
    acme = Account(name="Acme", attributes={"account_score": 55})
    ann = Person(email="ann@acme.example", first_name="Ann", last_name="Archer",
                 company="Acme", title="VP Marketing", score=70, account_id=acme.id,
                 attributes={"fit_score": 30, "behavior_score": 40})
    bo = Person(email="bo@beta.example", title="Analyst", score=5,
                attributes={"fit_score": 5, "behavior_score": 0})
    add(engine, acme, ann, bo)

    report = run_lifecycle(engine, lifecycle, schema, now=NOW)
    # Ann: through every stage her rules reach, Known, Engaged, then MQL, in one run;
    # Bo: Known.
    assert (report.mode, report.people, report.moved, report.aql_changed) == ("full", 2, 4, 1)
    moved = stored(engine, Person, ann.id)
    assert moved.lifecycle_stage == "MQL"
    assert set(moved.stage_entered_at) == {"Known", "Engaged", "MQL"}
    assert (moved.aql, moved.aql_at.replace(tzinfo=UTC)) == (True, NOW)
    assert stored(engine, Person, bo.id).lifecycle_stage == "Known"
    with Session(engine) as db:
        history = list(db.exec(select(LifecycleHistory).where(
            LifecycleHistory.person_id == ann.id).order_by(LifecycleHistory.id)))
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (None, "Known"), ("Known", "Engaged"), ("Engaged", "MQL")]
    assert all(h.rule.startswith("transitions") and h.reason for h in history)

    quiet = run_lifecycle(engine, lifecycle, schema, now=NOW)
    assert (quiet.mode, quiet.moved, quiet.aql_changed) == ("incremental", 0, 0)

    # A deal with Ann on it: she is an Opportunity now; never back to MQL.
    deal = Opportunity(name="Platform deal", created_on=NOW - timedelta(hours=1))
    add(engine, deal, OpportunityContactRole(opportunity_id=deal.id, person_id=ann.id))
    later = run_lifecycle(engine, lifecycle, schema, now=NOW + timedelta(hours=1))
    assert later.people == 1 and later.moved == 1
    assert stored(engine, Person, ann.id).lifecycle_stage == "Opportunity"
    assert set(stored(engine, Person, ann.id).stage_entered_at) == {
        "Known", "Engaged", "MQL", "Opportunity"}


def test_entering_mql_sets_the_lead_status_and_sales_moves_the_stage_back(
    engine: Engine, schema: HubSchema, lifecycle: Lifecycle
) -> None:
    # Qualified automatically (all four AQL parts) though the score alone is below 60.
    acme = Account(name="Acme", attributes={"account_score": 60})
    ann = Person(email="ann@acme.example", first_name="Ann", last_name="Archer",
                 company="Acme", title="Director of IT", score=45, account_id=acme.id,
                 attributes={"fit_score": 10, "behavior_score": 35, "lead_status": "Open"})
    add(engine, acme, ann)
    run_lifecycle(engine, lifecycle, schema, now=NOW)
    ann_now = stored(engine, Person, ann.id)
    assert (ann_now.lifecycle_stage, ann_now.aql) == ("MQL", True)
    assert schema.get(ann_now, "lead_status") == "MQL"
    with Session(engine) as db:
        mql = db.exec(select(LifecycleHistory).where(LifecycleHistory.person_id == ann.id,
                                                     LifecycleHistory.to_stage == "MQL")).one()
    assert mql.reason.startswith("aql or (score >= 60")

    # Sales accepts the lead (Working): SAL, and the status stays sales's.
    with Session(engine) as db:
        row = db.get(Person, ann.id)
        assert row is not None
        schema.set(row, "lead_status", "Working")
        db.add(row)
        db.commit()
    run_lifecycle(engine, lifecycle, schema, now=NOW + timedelta(hours=1))
    ann_now = stored(engine, Person, ann.id)
    assert (ann_now.lifecycle_stage, schema.get(ann_now, "lead_status")) == ("SAL", "Working")

    # Sales hands it back: Recycled, by the CRM's word; the stage sets nothing over it.
    with Session(engine) as db:
        row = db.get(Person, ann.id)
        assert row is not None
        schema.set(row, "lead_status", "Recycled")
        db.add(row)
        db.commit()
    run_lifecycle(engine, lifecycle, schema, now=NOW + timedelta(hours=2))
    ann_now = stored(engine, Person, ann.id)
    # Still AQL, but her old scores do not bounce her back to sales: she stays Recycled...
    assert (ann_now.lifecycle_stage, schema.get(ann_now, "lead_status")) == (
        "Recycled", "Recycled")
    again = run_lifecycle(engine, lifecycle, schema, full=True, now=NOW + timedelta(days=2))
    assert again.moved == 0
    # ...until she engages again: a new touch qualifies her, and MQL sets the status again.
    add(engine, Touch(person_id=ann.id, occurred_at=NOW + timedelta(days=3),
                      touch_type="web_visit"))
    run_lifecycle(engine, lifecycle, schema, now=NOW + timedelta(days=3, hours=1))
    with Session(engine) as db:
        moves = [(h.from_stage, h.to_stage) for h in db.exec(
            select(LifecycleHistory).where(LifecycleHistory.person_id == ann.id)
            .order_by(LifecycleHistory.id))]
    assert moves[-2:] == [("SAL", "Recycled"), ("Recycled", "MQL")]
    ann_now = stored(engine, Person, ann.id)
    assert (ann_now.lifecycle_stage, schema.get(ann_now, "lead_status")) == ("MQL", "MQL")
