"""Shared database fixtures: every test gets a clean database, on SQLite and on PostgreSQL.

- ``backend``: "sqlite" or "postgres" (marked ``postgres``); tests using ``db_url`` or
  ``engine`` run once per backend.
- ``db_url``: the URL of an *empty* database (no tables): for init and migration tests.
- ``engine``: an engine on a database at the latest migration, all tables empty and the change
  counter at 0. Tests may write anything but must not change its schema (use ``db_url``).
- ``sqlite_engine`` / ``postgres_engine``: the same for one backend only (mark tests using
  ``postgres_engine`` with ``@pytest.mark.postgres``).

SQLite databases are temp files copied from one template made by ``init_db``. PostgreSQL tests
use two scratch databases created for the test session and dropped at its end; the schema is
created once and the tables are emptied before each test. When the server cannot be reached
the PostgreSQL tests are skipped, except under CI=true where they fail instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from core.db import init_db, make_engine, schema_revision

POSTGRES_ADMIN_URL = os.environ.get(
    "SYNCLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class PostgresServer:
    """The test session's handle on the PostgreSQL server: creates and drops scratch databases."""

    admin: Engine
    prefix: str

    def create(self, suffix: str) -> str:
        name = f"{self.prefix}_{suffix}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as connection:
            # FORCE: a test that leaked a connection must not keep its database alive.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class PostgresDatabase:
    """A scratch database at the latest migration, emptied before each test by ``reset``."""

    engine: Engine
    reset_sql: str

    @classmethod
    def prepare(cls, engine: Engine) -> PostgresDatabase:
        init_db(engine)
        inspector = inspect(engine)
        # Children before parents, so plain DELETEs never trip a foreign key. DELETE, not
        # TRUNCATE: on a dozen near-empty tables it is about twenty times faster.
        ordered = [name for name, _ in inspector.get_sorted_table_and_fkc_names() if name]
        tables = [name for name in reversed(ordered) if name != "alembic_version"]
        with engine.connect() as connection:
            sequences = connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            statements = [
                # A test that left a transaction open would make us wait forever: fail instead.
                "SET LOCAL lock_timeout = '10s'",
                *(f'DELETE FROM "{table}"' for table in tables),
                *(f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences),
                "INSERT INTO hub_sequence (name, value) VALUES ('hub', 0)",
                # Undo a test that moved the recorded revision (require_schema tests do).
                f"UPDATE alembic_version SET version_num = '{schema_revision(engine)}'",
            ]
        return cls(engine, ";\n".join(statements))

    def reset(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(self.reset_sql))


def _unreachable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server for this test session (skip, or fail under CI, when unreachable)."""
    admin = create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        first_line = str(exc.orig or exc).strip().splitlines()[0]
        masked = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
        _unreachable(f"PostgreSQL not reachable at {masked}: {first_line}")
    # A random part as well as the pid: test sessions in other containers share this server.
    server = PostgresServer(admin, f"syncline_test_{os.getpid()}_{secrets.token_hex(3)}")
    yield server
    admin.dispose()


@pytest.fixture(scope="session")
def _postgres_ready(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    url = postgres_server.create("ready")
    database = PostgresDatabase.prepare(make_engine(url))
    yield database
    database.engine.dispose()
    postgres_server.drop(url)


@pytest.fixture(scope="session")
def _postgres_empty(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create("empty")
    yield url
    postgres_server.drop(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "syncline.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with engine.connect() as connection:
        # Fold the WAL into the main file so that copying the one file copies everything.
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


def _sqlite_copy(template: Path, folder: Path) -> str:
    path = folder / "syncline.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: "sqlite" or "postgres"."""
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database (no tables, never initialised) on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'syncline.db'}"
    url: str = request.getfixturevalue("_postgres_empty")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def sqlite_engine(_sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh SQLite file at the latest migration, tables empty."""
    engine = make_engine(_sqlite_copy(_sqlite_template, tmp_path))
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(_postgres_ready: PostgresDatabase) -> Engine:
    """An engine on the PostgreSQL scratch database at the latest migration, tables emptied."""
    _postgres_ready.reset()
    return _postgres_ready.engine


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> Engine:
    """An engine on a clean database at the latest migration, on ``backend``."""
    name = "sqlite_engine" if backend == "sqlite" else "postgres_engine"
    return request.getfixturevalue(name)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Hash test accounts' passwords cheaply: scrypt's deliberate ~0.3 s, hundreds of times,
    would be most of the dashboard suite's run time. tests/dashboard/test_auth.py checks the
    production default separately."""
    from core import accounts

    production = accounts.HASH_METHOD
    accounts.HASH_METHOD = "pbkdf2:sha256:1000"
    yield
    accounts.HASH_METHOD = production


@pytest.fixture(autouse=True)
def _redactor_per_test() -> Iterator[None]:
    """Give every test the process-wide redactor as it found it.

    Loading a connections file registers its secrets for the life of the process, which is
    right for Syncline and wrong for a test suite: one test's ``api_key: right`` would redact
    the word "right" in every later test's output.
    """
    from core.redaction import redact

    forms = dict(redact._forms)
    rotated = {slot: list(values) for slot, values in redact._rotated.items()}
    pattern = redact._pattern
    yield
    with redact._lock:
        redact._forms, redact._rotated, redact._pattern = forms, rotated, pattern
