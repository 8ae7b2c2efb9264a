"""Dashboard accounts: who may log in, with which role, their open sessions and login counters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

#: admin edits mappings and acts on errors; viewer reads everything a non-secret page shows.
ROLES = ("admin", "viewer")
#: A login counter's key (an email or a client address) is kept to this many characters.
COUNTER_VALUE_WIDTH = 255


class User(SQLModel, table=True):
    """A dashboard account; the password is stored only as a salted hash."""

    __tablename__ = "dashboard_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255, unique=True)  # stored lower-cased
    password_hash: str = Field(max_length=255)
    role: str = Field(default="viewer", max_length=12)
    active: bool = True
    created_at: datetime
    last_login_at: datetime | None = None


class DashboardSession(SQLModel, table=True):
    """A logged-in browser, checked on every request: deleting the row logs every copy out.

    The cookie carries a random token; only its SHA-256 is kept, so a copy of this table
    (a backup, a dump) gives nobody a live session.
    """

    __tablename__ = "dashboard_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="dashboard_user.id", ondelete="CASCADE", index=True)
    created_at: datetime
    last_seen_at: datetime
    address: str = Field(max_length=64)
    user_agent: str = Field(max_length=255)


class LoginCounter(SQLModel, table=True):
    """Login attempts in the current window for one email or one client address.

    One row per key, bumped by a single atomic statement, so the limit holds however many
    dashboard threads and processes check passwords at once.
    """

    __tablename__ = "login_counter"

    scope: str = Field(primary_key=True, max_length=8)  # "email" or "address"
    value: str = Field(primary_key=True, max_length=COUNTER_VALUE_WIDTH)
    window_start: datetime = Field(index=True)
    attempts: int
