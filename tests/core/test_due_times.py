"""Due times on person: written without a change_seq, found by an indexed read, upgraded into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session

from core import db, due_times
from core.clock import as_utc
from core.hubschema import SYSTEM_FIELDS, HubSchema
from core.models import Person
from core.sequence import current_seq
from tests.touches.helpers import add, change

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_due_time_is_bookkeeping_no_hub_change(engine: Engine) -> None:
    ann, bo = Person(email="ann@example.com"), Person(email="bo@example.com")
    add(engine, ann, bo)
    with Session(engine) as s:
        seq = current_seq(s)
        due_times.store_due(s, "score_due_at", {ann.id: NOW, bo.id: NOW + timedelta(days=1)})
        s.commit()
    with Session(engine) as s:
        stored = s.get(Person, ann.id)
        assert stored is not None and as_utc(stored.score_due_at) == NOW  # type: ignore[arg-type]
        # No change_seq: no mapping pushes Ann for it, no hub step reads it as news.
        assert (current_seq(s), stored.change_seq) == (seq, ann.change_seq)
        assert not due_times.any_due(s, "score_due_at", NOW - timedelta(seconds=1))
        assert due_times.any_due(s, "score_due_at", NOW)
        assert not due_times.any_due(s, "stage_due_at", NOW + timedelta(days=9))
        assert due_times.due_people(s, "score_due_at", NOW + timedelta(days=1)) == {ann.id, bo.id}
    assert {"score_due_at", "stage_due_at"} <= SYSTEM_FIELDS  # never mapped, never synced
    assert "score_due_at" not in HubSchema.standard().fields("person")


def test_a_deleted_persons_due_time_is_cleared_not_returned(engine: Engine) -> None:
    ann = Person(email="ann@example.com")
    add(engine, ann)
    with Session(engine) as s:
        due_times.store_due(s, "stage_due_at", {ann.id: NOW})
        s.commit()
    change(engine, ann, deleted_at=NOW)
    with Session(engine) as s:
        assert due_times.due_people(s, "stage_due_at", NOW) == set()
        s.commit()
    with Session(engine) as s:
        assert not due_times.any_due(s, "stage_due_at", NOW)  # a later cycle can be idle


def test_people_from_before_0019_have_nothing_due_and_get_a_full_run(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(db._alembic_config(connection), "0018")
            connection.execute(
                text(
                    "INSERT INTO person (id, change_seq, unsubscribed, attributes) "
                    "VALUES ('p1', 1, false, '{}')"
                )
            )
            # A row that names the person: rebuilding the person table would trip over it.
            connection.execute(
                text("INSERT INTO campaign (id, change_seq, attributes) VALUES ('c1', 2, '{}')")
            )
            connection.execute(
                text(
                    "INSERT INTO campaign_member (id, change_seq, person_id, campaign_id,"
                    " responded) VALUES ('m1', 3, 'p1', 'c1', false)"
                )
            )
            for name in ("scoring:people", "lifecycle:people", "touches:campaign-members"):
                connection.execute(
                    text(
                        "INSERT INTO sync_state (mapping, direction, cursor) "
                        "VALUES (:name, 'hub', '{\"seq\": 3}')"
                    ),
                    {"name": name},
                )
        db.init_db(engine)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT score_due_at, stage_due_at FROM person WHERE id = 'p1'")
            ).one()
            assert tuple(row) == (None, None)
            # Scoring's and the lifecycle's cursors are gone (their next run is a full one,
            # which sets everyone's due time); other steps keep theirs.
            kept = connection.execute(text("SELECT mapping FROM sync_state")).scalars().all()
            assert kept == ["touches:campaign-members"]
        indexed = {tuple(i["column_names"]) for i in inspect(engine).get_indexes("person")}
        assert {("score_due_at",), ("stage_due_at",), ("account_id",)} <= indexed
    finally:
        engine.dispose()
