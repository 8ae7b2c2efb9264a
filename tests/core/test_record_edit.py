"""Editing a hub record by hand: the hub schema's checks, all or nothing, a new change_seq."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.hubschema import HubSchema
from core.models import Audit, Person
from core.record_edit import (
    ChangedMeanwhileError,
    EditRefusedError,
    edit_record,
    editable_fields,
)

SCHEMA = HubSchema.standard()
REPO = Path(__file__).resolve().parents[2]


def add(engine: Engine, **values: object) -> str:
    with Session(engine) as db:
        person = Person(**values)
        db.add(person)
        db.commit()
        return person.id


def test_an_edit_writes_the_changed_fields_audits_them_and_takes_a_new_change_seq(
    engine: Engine,
) -> None:
    ann = add(engine, email="ann@example.com", title="CTO", score=12)
    with Session(engine) as db:
        person = db.get(Person, ann)
        assert person is not None
        before = person.change_seq
        changes = edit_record(db, SCHEMA, person, {"title": "VP", "score": "12", "email":
                                                   " Ann@Example.com "}, actor="cli:ann")
        db.commit()
        assert changes == {"title": ["CTO", "VP"]}  # score and email did not change
        assert person.change_seq > before
        [audit] = db.exec(select(Audit)).all()
    assert (audit.actor, audit.action, audit.target, audit.detail) == (
        "cli:ann", "record.edit", ann, {"title": ["CTO", "VP"]})


def test_every_refused_field_is_named_and_nothing_is_written(engine: Engine) -> None:
    ann = add(engine, email="ann@example.com", title="CTO")
    with Session(engine) as db:
        person = db.get(Person, ann)
        assert person is not None
        before = person.change_seq
        with pytest.raises(EditRefusedError) as refused:
            edit_record(db, SCHEMA, person, {"title": "VP", "score": "1.5", "nope": "x",
                                             "created_at": "2020-01-01"}, actor="a")
        assert refused.value.problems == {
            "score": "'1.5' is not a whole number",
            "nope": "not a field of this record that can be edited here",
            "created_at": "not a field of this record that can be edited here",
        }
        db.rollback()
    with Session(engine) as db:
        person = db.get(Person, ann)
        assert person is not None and person.title == "CTO" and person.change_seq == before
        assert db.exec(select(Audit)).all() == []


def test_an_untouched_old_value_is_not_checked_again(engine: Engine) -> None:
    # Stored before hub.yaml narrowed its choices: left alone unless someone edits it.
    schema = HubSchema.load(REPO / "mappings" / "hub.yaml")
    ann = add(engine, email="ann@example.com", attributes={"industry_segment": "Huge"})
    with Session(engine) as db:
        person = db.get(Person, ann)
        assert person is not None
        fields = {f.name: f.text for f in editable_fields(schema, person)}
        assert fields["industry_segment"] == "Huge"
        assert edit_record(db, schema, person, {**fields, "city": "Leeds"}, actor="a") == {
            "city": [None, "Leeds"]}
        with pytest.raises(EditRefusedError) as refused:
            edit_record(db, schema, person, {"industry_segment": "Huger"}, actor="a")
        assert refused.value.problems == {
            "industry_segment": "'Huger' is not one of ['SMB', 'Mid-Market', 'Enterprise']"}


def test_a_stale_form_is_refused(engine: Engine) -> None:
    ann = add(engine, email="ann@example.com")
    with Session(engine) as db:
        person = db.get(Person, ann)
        assert person is not None
        with pytest.raises(ChangedMeanwhileError):
            edit_record(db, SCHEMA, person, {"title": "VP"}, actor="a",
                        expected_seq=person.change_seq - 1)


def test_json_fields_are_not_offered(engine: Engine) -> None:
    ann = add(engine, email="ann@example.com")
    with Session(engine) as db:
        person = db.get(Person, ann)
        assert person is not None
        names = [f.name for f in editable_fields(SCHEMA, person)]
    assert names[:3] == ["email", "first_name", "last_name"]
    assert "attributes" not in names and "id" not in names and "change_seq" not in names
