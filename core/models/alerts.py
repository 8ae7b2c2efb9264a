"""Alert state: which alert rule holds for which subject, since when, and who was told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class AlertState(SQLModel, table=True):
    """One alert rule applied to one subject (a mapping or a connection), across evaluations.

    Kept in the database so an alert fires once when its condition starts and once when it
    ends, even across scheduler restarts. ``delivered`` remembers, per channel, the last
    message that channel accepted (``firing`` or ``resolved``): a send that failed is simply
    still owed, and is tried again at the next evaluation.
    """

    __tablename__ = "alert_state"
    __table_args__ = (
        UniqueConstraint("rule", "subject", name="uq_alert_state"),
        # The overview lists the active alerts on every page view.
        Index("ix_alert_state_active", "active", "since"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=120)
    subject: str = Field(max_length=255)  # a mapping or connection name
    active: bool = False
    #: When the condition last started to hold (kept after it ends, for the record).
    since: datetime | None = None
    #: When the condition last stopped holding.
    resolved_at: datetime | None = None
    #: When a "firing" message last reached a channel.
    last_fired_at: datetime | None = None
    last_value: float | None = None
    message: str | None = Field(default=None, sa_type=Text)
    evaluated_at: datetime | None = None
    #: First evaluation of this rule for this subject (the reference for "never ran").
    created_at: datetime
    #: Recent (epoch seconds, value) readings, for conditions measured over a window.
    samples: list[list[float]] = Field(default_factory=list, sa_type=JSON)
    #: Channel name → last message it accepted: "firing" or "resolved".
    delivered: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
