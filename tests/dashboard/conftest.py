"""Dashboard fixtures: an app on the shared ``engine`` (SQLite, PostgreSQL), client, rows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from app import create_app
from core.accounts import add_user
from core.db import session
from core.models import SyncError, SyncRun, User
from jobs import causes
from tests.dashboard.forms import log_in

#: Passwords of the fixture accounts (test-only; never a real secret).
ADMIN_PASSWORD = "admin-password-for-tests"
VIEWER_PASSWORD = "viewer-password-for-tests"

BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def unwrapped(html: str) -> str:
    """A page's markup without the ``<wbr>`` wrap points, so codes and emails read whole."""
    return html.replace("<wbr>", "")


@pytest.fixture
def app(engine: Engine) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        }
    )
    # Share the fixture's engine (and so its schema and cleanup) rather than a second pool.
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = engine
    yield app


@pytest.fixture
def admin(engine: Engine) -> User:
    return add_user(engine, "admin@example.com", ADMIN_PASSWORD, "admin")


@pytest.fixture
def viewer(engine: Engine) -> User:
    return add_user(engine, "viewer@example.com", VIEWER_PASSWORD, "viewer")


@pytest.fixture
def anon_client(app: Flask) -> FlaskClient:
    """A browser that has not logged in."""
    return app.test_client()


@pytest.fixture
def client(app: Flask, admin: User) -> FlaskClient:
    """A browser logged in as an admin (most page tests act as one)."""
    return log_in(app.test_client(), admin)


@pytest.fixture
def viewer_client(app: Flask, viewer: User) -> FlaskClient:
    """A browser logged in with the read-only viewer role."""
    return log_in(app.test_client(), viewer)


@pytest.fixture
def add_run(engine: Engine) -> Callable[..., SyncRun]:
    counter = itertools.count()

    def add(mapping: str = "crm-person", minutes: int | None = None, **fields: Any) -> SyncRun:
        started = BASE + timedelta(minutes=next(counter) if minutes is None else minutes)
        fields.setdefault("status", "success")
        run = SyncRun(mapping=mapping, started_at=started, **fields)
        with session(engine) as db:
            db.add(run)
        return run

    return add


@pytest.fixture
def add_error(engine: Engine) -> Callable[..., SyncError]:
    counter = itertools.count()

    def add(mapping: str = "crm-person", minutes: int | None = None, **fields: Any) -> SyncError:
        n = next(counter)
        seen = BASE + timedelta(minutes=n if minutes is None else minutes)
        values: dict[str, Any] = {
            "fingerprint": f"fp-{mapping}-{n}",
            "mapping": mapping,
            "direction": "to_remote",
            "kind": "validation",
            "message": f"problem number {n}",
            "first_seen": seen,
            "last_seen": seen,
        }
        values.update(fields)
        error = SyncError(**values)
        with session(engine) as db:
            db.add(error)
            causes.recount(db, [error.mapping])  # as every writer of errors does
        return error

    return add
