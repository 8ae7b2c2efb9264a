"""The webhook inbox: every signed request a source sent, stored before anything is done with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class InboundEvent(SQLModel, table=True):
    """One request to ``POST /hooks/<source>``, kept as received until it is processed.

    ``event_id`` is the sender's id (``webhook-id``), else a digest of the body: a sender's
    retry of a request we already hold is a duplicate, answered without storing it twice.
    ``status`` is ``received`` until processing ends ``processed`` or ``failed`` (``error``
    says why; the raw body stays for a replay).
    """

    __tablename__ = "inbound_event"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_inbound_event"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=80, index=True)
    event_id: str = Field(max_length=255)
    received_at: datetime = Field(index=True)
    content_type: str | None = Field(default=None, max_length=120)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="received", max_length=20, index=True)
    processed_at: datetime | None = None
    error: str | None = Field(default=None, max_length=2000)


class InboundTally(SQLModel, table=True):
    """How many requests a source sent in one hour, by outcome (the dashboard's Inbound page).

    Outcomes: ``accepted``, ``duplicate``, ``bad_signature``, ``stale``, ``bad_body``,
    ``too_large``, ``rate_limited``. Requests to an unknown source are not counted: they have
    no source to count under, and anyone may send them.
    """

    __tablename__ = "inbound_tally"

    source: str = Field(primary_key=True, max_length=80)
    hour: datetime = Field(primary_key=True)
    outcome: str = Field(primary_key=True, max_length=20)
    count: int = 0
