from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from core import clock, db
from core.errors import InputError
from core.models import HubSequence, Person, SyncRun
from core.sequence import current_seq


def test_database_url_prefers_argument_then_environment_then_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    assert db.database_url("sqlite:///explicit.db") == "sqlite:///explicit.db"
    assert db.database_url() == "sqlite:///from-env.db"
    monkeypatch.delenv("DATABASE_URL")
    assert db.database_url() == "sqlite:///instance/syncline.db"
    # Picking the URL makes nothing: only a check that may create (init) makes the folder.
    assert not (tmp_path / "instance").exists()
    engine = db.make_engine()
    try:
        with pytest.raises(InputError, match="not initialised"):
            db.check_connection(engine)
        assert not (tmp_path / "instance").exists()
        db.check_connection(engine, create=True)
        assert (tmp_path / "instance" / "syncline.db").is_file()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_names_the_psycopg_driver(given: str, expected: str) -> None:
    assert db.database_url(given) == expected


def test_sqlite_connections_get_wal_busy_timeout_and_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_in_memory_sqlite_is_one_database_for_every_session() -> None:
    engine = db.make_engine("sqlite://")
    try:
        db.init_db(engine)
        with db.session(engine) as s:
            s.add(Person(email="a@example.com"))
        with db.session(engine) as s:
            assert s.exec(select(Person.email)).all() == ["a@example.com"]
    finally:
        engine.dispose()


def test_postgres_engine_pings_before_use() -> None:
    engine = db.make_engine("postgres://u@127.0.0.1:5432/d")
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    engine.dispose()


def test_check_connection_names_the_url_with_the_password_masked() -> None:
    engine = db.make_engine("postgresql://postgres:s3cret@127.0.0.1:5999/test")
    try:
        with pytest.raises(InputError) as caught:
            db.check_connection(engine)
    finally:
        engine.dispose()
    assert caught.value.where == "DATABASE_URL"
    message = caught.value.message
    assert message.startswith(
        "cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:5999/test: "
    )
    assert "s3cret" not in str(caught.value)
    assert "\n" not in message


def test_check_connection_passes_on_a_reachable_database(engine: Engine) -> None:
    db.check_connection(engine)


def test_init_db_is_idempotent_and_seeds_the_counter(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        with pytest.raises(InputError, match="not initialised — run `syncline init`"):
            db.require_schema(engine)
        db.init_db(engine)
        db.init_db(engine)
        db.require_schema(engine)
        with db.session(engine) as s:
            assert s.exec(select(HubSequence)).all() == [HubSequence(name="hub", value=0)]
    finally:
        engine.dispose()


def test_init_db_restores_a_missing_counter_row(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM hub_sequence"))
    db.init_db(engine)
    with db.session(engine) as s:
        assert current_seq(s) == 0
        assert s.get(HubSequence, "hub") is not None


def test_require_schema_refuses_a_database_behind_head(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(InputError, match="run `syncline init`") as caught:
        db.require_schema(engine)
    assert caught.value.where == "database"


def test_session_commits_on_success(engine: Engine) -> None:
    with db.session(engine) as s:
        s.add(SyncRun(mapping="m", started_at=clock.utcnow()))
    with db.session(engine) as s:
        run = s.exec(select(SyncRun)).one()
    # expire_on_commit=False: still readable after the block closed the session.
    assert run.mapping == "m"


def test_session_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError), db.session(engine) as s:
        s.add(SyncRun(mapping="m", started_at=clock.utcnow()))
        s.flush()
        raise RuntimeError("boom")
    with db.session(engine) as s:
        assert s.exec(select(SyncRun)).all() == []


def test_utcnow_is_aware_utc() -> None:
    now = clock.utcnow()
    assert now.utcoffset() is not None and now.utcoffset().total_seconds() == 0


def test_datetimes_come_back_aware_on_every_backend(engine: Engine) -> None:
    started = clock.utcnow()
    with db.session(engine) as s:
        s.add(SyncRun(mapping="m", started_at=started))
    with db.session(engine) as s:
        run = s.exec(select(SyncRun)).one()
    assert run.started_at == started
    assert run.started_at.tzinfo is not None
