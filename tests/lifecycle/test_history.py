from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import select

from core import db
from core.hubschema import HubSchema
from core.models import LifecycleHistory, Person

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def test_a_history_row_and_the_new_person_fields_round_trip(engine: Engine) -> None:
    with db.session(engine) as s:
        person = Person(email="ann@example.com", lifecycle_stage="MQL", aql=True, aql_at=AT,
                        stage_entered_at={"Known": "2026-11-01T08:00:00+00:00",
                                          "MQL": AT.isoformat()})
        s.add(person)
        s.flush()
        s.add(LifecycleHistory(person_id=person.id, from_stage="Known", to_stage="MQL", at=AT,
                               rule="transitions[2]",
                               reason="score >= 60 and fit_score >= 20 holds"))
        s.add(LifecycleHistory(person_id=person.id, to_stage="Known", at=AT, rule="crm"))
        person_id = person.id
    with db.session(engine) as s:
        rows = s.exec(select(LifecycleHistory).order_by(LifecycleHistory.id)).all()
        stored = s.get(Person, person_id)
        assert stored is not None
        assert (stored.aql, stored.aql_at, stored.stage_entered_at["MQL"]) == (
            True, AT, AT.isoformat())
        assert [(r.person_id, r.from_stage, r.to_stage, r.at, r.rule, r.reason) for r in rows] == [
            (person_id, "Known", "MQL", AT, "transitions[2]",
             "score >= 60 and fit_score >= 20 holds"),
            (person_id, None, "Known", AT, "crm", ""),
        ]


def test_a_new_person_is_not_qualified_and_has_entered_no_stage(engine: Engine) -> None:
    with db.session(engine) as s:
        person = Person(email="bob@example.com")
        s.add(person)
        s.flush()
        person_id = person.id
    with db.session(engine) as s:
        stored = s.get(Person, person_id)
        assert stored is not None
        assert (stored.aql, stored.aql_at, stored.stage_entered_at) == (False, None, {})


def test_people_from_before_the_upgrade_get_the_defaults(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(db._alembic_config(connection), "0017")
            connection.execute(text(
                "INSERT INTO person (id, change_seq, unsubscribed, attributes) "
                "VALUES ('p1', 1, false, '{}')"))
            # Rows that name the person: an upgrade that rebuilt the person table would trip
            # over them (SQLite checks foreign keys on the drop).
            connection.execute(text(
                "INSERT INTO campaign (id, change_seq, attributes) VALUES ('c1', 2, '{}')"))
            connection.execute(text(
                "INSERT INTO campaign_member (id, change_seq, person_id, campaign_id, responded)"
                " VALUES ('m1', 3, 'p1', 'c1', false)"))
        db.init_db(engine)
        with db.session(engine) as s:
            stored = s.get(Person, "p1")
            assert stored is not None
            assert (stored.aql, stored.aql_at, stored.stage_entered_at) == (False, None, {})
    finally:
        engine.dispose()


def test_the_new_person_fields_are_hub_fields_rules_can_use() -> None:
    fields = HubSchema.standard().fields("person")
    assert (fields["aql"].type, fields["aql_at"].type, fields["stage_entered_at"].type) == (
        "boolean", "datetime", "json")
    assert "lifecycle_history" not in HubSchema.standard().objects
