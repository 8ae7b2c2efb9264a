"""Database: the engine from DATABASE_URL, the schema by Alembic migrations, short transactions."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

# Importing core.sequence installs the change_seq listener on every sqlmodel Session: whoever
# opens a session has imported this module, so no hub write goes unnumbered.
from core import sequence
from core.errors import InputError

DEFAULT_URL = "sqlite:///instance/syncline.db"
MIGRATIONS = Path(__file__).with_name("migrations")
#: PostgreSQL's words when the server is up but the named database is not there.
_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')


def database_url(url: str | None = None) -> str:
    """Pick the database: ``url``, else $DATABASE_URL, else SQLite in ./instance."""
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs the driver spelled out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database on disk (None for PostgreSQL or an in-memory database)."""
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(engine.url.database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the dashboard read while a sync writes; the busy timeout makes a second writer
    # wait for the lock instead of failing; SQLite only enforces foreign keys when asked.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for ``database_url(url)``, tuned for SQLite or PostgreSQL."""
    url = database_url(url)
    if url.startswith("sqlite"):
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if make_url(url).database in (None, "", ":memory:"):
            # An in-memory database lives in one connection: share it across sessions.
            options["poolclass"] = StaticPool
        else:
            # SQLite reads planner statistics when a connection opens: the daily ANALYZE
            # (jobs.retention) reaches a long-lived dashboard pool only through new connections.
            options["pool_recycle"] = 3600
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping replaces connections the server or a proxy closed while idle.
    return create_engine(url, pool_pre_ping=True)


def not_initialised() -> InputError:
    """What a command that needs the hub says before ``syncline init`` made it."""
    return InputError("database", "not initialised — run `syncline init`")


def _masked(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def check_connection(engine: Engine, *, create: bool = False) -> None:
    """Raise InputError naming the (password-masked) URL when the database cannot be reached.

    SQLite makes a file on first connect: unless ``create`` (``syncline init``, the demo), a
    file that does not exist yet is "not initialised", so a mistyped path or a command run
    before ``init`` leaves no empty database behind for the next command to trip over.
    """
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        if not create:
            raise not_initialised()
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = first_line(str(cause)) or type(cause).__name__
        # psycopg puts "connection failed: ... FATAL:" before the server's own words.
        reason = reason.split("FATAL:", 1)[-1].strip()
        if _MISSING_DATABASE.search(reason):
            reason += "; " + _how_to_create(engine)
        raise InputError("DATABASE_URL", f"cannot connect to {_masked(engine)}: {reason}") from None


def _how_to_create(engine: Engine) -> str:
    """The command that makes the missing database (never with the password in it)."""
    url = engine.url
    options = [f"-h {url.host}" if url.host else "", f"-p {url.port}" if url.port else "",
               f"-U {url.username}" if url.username else ""]
    command = " ".join(part for part in ("createdb", *options, url.database or "") if part)
    quoted = (url.database or "").replace('"', '""')
    return (f"create it with `{command}` (or the SQL `CREATE DATABASE \"{quoted}\";`), "
            "then run `syncline init`")


def _alembic_config(connection: Any = None) -> Config:
    # Built in code: no alembic.ini to ship, find or keep in step with the package.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _head() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema to the latest migration and seed the change counter."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    with session(engine) as db:
        sequence.ensure_row(db)


def schema_revision(engine: Engine) -> str | None:
    """Return the migration the database is at (None when it was never initialised)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_schema(engine: Engine) -> None:
    """Raise InputError unless the database is initialised and at the latest migration."""
    revision = schema_revision(engine)
    if revision is None:
        raise not_initialised()
    if revision != _head():
        raise InputError(
            "database", f"schema at {revision}, this version needs {_head()} — run `syncline init`"
        )


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises."""
    # expire_on_commit=False: objects stay readable after commit (templates, reports, logs).
    with Session(engine, expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


#: Errors meaning the database could not be reached or used at all (server down, file gone,
#: pool exhausted), as opposed to one statement it refused (an IntegrityError is a bug to show).
UNREACHABLE: tuple[type[SQLAlchemyError], ...] = (OperationalError, InterfaceError, PoolTimeout)


def first_line(text: str) -> str:
    """A driver error's first non-blank line (the rest is SQL, parameters or a hint)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def describe_error(exc: BaseException, engine: Engine | None = None) -> str:
    """One line for a driver error: its type and first line, never the URL's password."""
    original = getattr(exc, "orig", None) or exc
    message = f"{type(original).__name__}: {first_line(str(original))}".rstrip(": ")
    password = engine.url.password if engine is not None else None
    if password:
        message = message.replace(str(password), "***")
    return message
