from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel, select

from core import clock, db
from core.models import Link, LoginCounter, Person, SyncRun
from core.sequence import current_seq


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(db._alembic_config())
    assert len(script.get_heads()) == 1


def test_upgraded_schema_matches_the_models(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        db.init_db(engine)
        assert _differences(engine) == []
        names = set(inspect(engine).get_table_names())
        assert names == set(SQLModel.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_keeps_existing_data(engine: Engine) -> None:
    with db.session(engine) as s:
        person = Person(email="kept@example.com", attributes={"nps": 9})
        s.add(person)
        s.flush()
        s.add(
            Link(
                hub_object="person",
                hub_id=person.id,
                connection="crm",
                remote_object="Lead",
                remote_id="00Q1",
                mapping="crm-person",
                snapshot={"Email": "kept@example.com"},
            )
        )
        s.add(SyncRun(mapping="crm-person", started_at=clock.utcnow()))
    db.init_db(engine)
    db.require_schema(engine)
    assert db.schema_revision(engine) == db._head()
    with db.session(engine) as s:
        stored = s.exec(select(Person)).one()
        assert (stored.id, stored.attributes) == (person.id, {"nps": 9})
        assert s.exec(select(Link)).one().snapshot == {"Email": "kept@example.com"}
        assert len(s.exec(select(SyncRun)).all()) == 1
        assert current_seq(s) == 1


def test_downgrade_to_base_and_back(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        command.downgrade(db._alembic_config(connection), "base")
    assert set(inspect(sqlite_engine).get_table_names()) == {"alembic_version"}
    db.init_db(sqlite_engine)
    assert _differences(sqlite_engine) == []


def test_alembic_command_line_path_uses_the_url_option(tmp_path: Path) -> None:
    """Alembic run directly, without a connection handed over: env.py opens one from the URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config = db._alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = db.make_engine(url)
    try:
        db.require_schema(engine)
        with db.session(engine) as s:
            assert current_seq(s) == 0
    finally:
        engine.dispose()


def test_0008_turns_recorded_login_failures_into_counters(db_url: str) -> None:
    """A lockout in progress at the upgrade still holds: the failures become counters."""
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(db._alembic_config(connection), "0007")
            at = "2026-12-08 10:00:00"
            for email, address, minute in [
                ("ann@example.com", "192.0.2.1", 1),
                ("ann@example.com", "192.0.2.2", 2),
                ("bob@example.com", "192.0.2.1", 3),
            ]:
                connection.execute(
                    text("INSERT INTO login_attempt (email, address, at) VALUES (:e, :a, :t)"),
                    {"e": email, "a": address, "t": at.replace(":00:", f":{minute:02d}:")},
                )
        db.init_db(engine)
        with db.session(engine) as s:
            counters = {
                (c.scope, c.value): (c.attempts, c.window_start.strftime("%H:%M"))
                for c in s.exec(select(LoginCounter))
            }
        assert counters == {
            ("email", "ann@example.com"): (2, "10:01"),
            ("email", "bob@example.com"): (1, "10:03"),
            ("address", "192.0.2.1"): (2, "10:01"),
            ("address", "192.0.2.2"): (1, "10:02"),
        }
        assert "login_attempt" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_0010_moves_a_links_control_keys_into_their_own_columns(db_url: str) -> None:
    """A write in flight and a held conflict survive the upgrade; the snapshot keeps values."""
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(db._alembic_config(connection), "0008")
            insert = text(
                "INSERT INTO link (hub_object, hub_id, connection, remote_object, remote_id, "
                "mapping, snapshot) VALUES ('person', :hub, 'crm', 'Lead', :remote, "
                "'crm-person', :snapshot)"
            )
            connection.execute(insert, {
                "hub": "h1", "remote": "00Q1",
                "snapshot": '{"Title": "CEO", "$pending": {"Title": "CTO"}, '
                            '"$conflict:Company": "Acme"}',
            })
            connection.execute(
                insert, {"hub": "h2", "remote": "00Q2", "snapshot": '{"Title": "$5 off"}'}
            )
        db.init_db(engine)
        with db.session(engine) as s:
            links = {link.remote_id: link for link in s.exec(select(Link))}
        assert links["00Q1"].snapshot == {"Title": "CEO"}
        assert links["00Q1"].pending == {"Title": "CTO"}
        assert links["00Q1"].held == {"Company": "Acme"}
        # A value that merely starts with "$" is a value, not a control key.
        assert links["00Q2"].snapshot == {"Title": "$5 off"}
        assert (links["00Q2"].pending, links["00Q2"].held) == (None, {})
    finally:
        engine.dispose()
