"""Field history: one row per value the engine changed (or kept against a change), and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel


class FieldHistory(SQLModel, table=True):
    """One field's value moving between the hub and a remote, with the rule that decided it.

    ``direction`` is ``to_hub`` (the hub value changed), ``to_remote`` (the remote value
    changed, written only once the remote accepted it) or ``kept`` (a side offered a value
    that lost: ``old`` holds the value kept, ``new`` the value offered). ``source`` is the
    side the value came from: ``hub`` or a connection name. Values are JSON (None for blank),
    hub values in the hub's form, remote values in the remote's.
    """

    __tablename__ = "field_history"
    # A record's page and `syncline history` read one record's rows newest first.
    __table_args__ = (Index("ix_field_history_hub_at", "hub_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)  # the purge deletes by age
    hub_table: str = Field(max_length=40)
    hub_id: str = Field(max_length=32)
    field: str = Field(max_length=120)  # the hub field
    remote_field: str | None = Field(default=None, max_length=120)
    old: Any = Field(default=None, sa_type=JSON, nullable=True)
    new: Any = Field(default=None, sa_type=JSON, nullable=True)
    source: str = Field(max_length=80)  # "hub" or the connection the value came from
    direction: str = Field(max_length=12)  # to_hub | to_remote | kept
    mapping: str = Field(max_length=120)
    run_id: int | None = None
    reason: str = Field(default="", sa_type=Text)
