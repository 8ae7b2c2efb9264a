"""Dashboard accounts: who may log in, with which role, and recent login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

#: admin edits mappings and acts on errors; viewer reads everything a non-secret page shows.
ROLES = ("admin", "viewer")


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


class LoginAttempt(SQLModel, table=True):
    """One failed login, kept for the rate limit (per email and per client address).

    In the database rather than in memory so the limit holds across dashboard processes.
    """

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255)
    address: str = Field(max_length=64)
    at: datetime
