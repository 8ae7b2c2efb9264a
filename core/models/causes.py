"""Error counts per cause and status, kept beside ``sync_error`` for the grouped errors view."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ErrorCause(SQLModel, table=True):
    """How many errors of one cause have one status, when the newest was seen, and an example.

    Grouping a quarter of a million open errors costs 0.3–0.5 s whatever the index; reading
    these few hundred rows costs milliseconds. ``jobs.causes`` recounts a mapping's rows in
    the transaction that changed its errors, so the counts are never behind a commit.
    ``code`` and ``field`` hold "" for errors without one (so the unique key works everywhere).
    """

    __tablename__ = "sync_error_cause"
    __table_args__ = (
        UniqueConstraint(
            "mapping", "direction", "level", "kind", "code", "field", "status",
            name="uq_sync_error_cause",
        ),
        Index("ix_sync_error_cause_status_newest", "status", "last_seen"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mapping: str = Field(max_length=120)
    direction: str = Field(max_length=16)
    level: str = Field(max_length=8)
    kind: str = Field(max_length=20)
    code: str = Field(default="", max_length=80)
    field: str = Field(default="", max_length=120)
    status: str = Field(max_length=12)
    count: int = 0
    last_seen: datetime
    example_id: int
