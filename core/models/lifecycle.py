"""Lifecycle history: one row per stage change of a person, with the rule that made it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel


class LifecycleHistory(SQLModel, table=True):
    """A person's move from one lifecycle stage to another (``from_stage`` None: its first).

    ``rule`` names the transition in ``lifecycle.yaml`` (``transitions[3]``), or what else set
    the stage (a CRM value, an admin's edit); ``reason`` says why in words.
    """

    __tablename__ = "lifecycle_history"
    # A person's page reads its stage changes newest first.
    __table_args__ = (Index("ix_lifecycle_history_person_at", "person_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.id", max_length=32)  # indexed with ``at``
    from_stage: str | None = Field(default=None, max_length=40)
    to_stage: str = Field(max_length=40)
    at: datetime = Field(index=True)  # funnel reports count moves in a period
    rule: str = Field(default="", max_length=120)
    reason: str = Field(default="", sa_type=Text)
