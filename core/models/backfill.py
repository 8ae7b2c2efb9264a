"""What a mapping's field rows looked like when their values were last sent, and resync requests.

A field row added to a mapping, or one whose transform, value map, default or rule changed,
reaches every linked record only if something notices the change: ``mapping_field`` keeps each
row's fingerprint as of the last complete backfill, and ``resync_request`` holds the backfills
an admin asked for (``syncline sync --resync``, the dashboard) until a cycle has done them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel


class MappingField(SQLModel, table=True):
    """One field row of one mapping, by its remote field, as every linked record last got it."""

    __tablename__ = "mapping_field"

    mapping: str = Field(primary_key=True, max_length=120)
    remote_field: str = Field(primary_key=True, max_length=120)
    #: A hash of the row's normalised definition and its flows (jobs.backfill.fingerprint).
    fingerprint: str = Field(max_length=64)
    updated_at: datetime


class ResyncRequest(SQLModel, table=True):
    """A backfill asked for by an admin: done by the mapping's next cycle, then kept as record."""

    __tablename__ = "resync_request"
    __table_args__ = (Index("ix_resync_request_mapping_done", "mapping", "done_at"),)

    id: int | None = Field(default=None, primary_key=True)
    mapping: str = Field(max_length=120)
    #: Remote field names; empty: every field row that moves values.
    fields: list[str] = Field(default_factory=list, sa_type=JSON)
    #: Only records changed since then (on either side); None: every linked record.
    since: datetime | None = None
    requested_by: str = Field(max_length=120)
    requested_at: datetime
    done_at: datetime | None = None
    #: The run that did it.
    run_id: int | None = None
