"""Hub tables: the marketing database (people, accounts, campaigns, members, touches, deals)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel


def new_id() -> str:
    """Return a random UUID (hex): safe to hand to any CRM as an external id."""
    return uuid.uuid4().hex


class HubRecord(SQLModel):
    """Columns every hub table shares: id, change sequence, timestamps and a soft-delete mark.

    ``change_seq`` is assigned on every write by :mod:`core.sequence`; pushes read "changes since
    seq". Deletes are soft (``deleted_at``) so the change feed carries them to every mapping.
    """

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    change_seq: int = Field(default=0, sa_type=BigInteger, index=True)
    created_at: datetime | None = Field(default=None)
    updated_at: datetime | None = Field(default=None)
    deleted_at: datetime | None = Field(default=None)


class Account(HubRecord, table=True):
    """A company: what CRMs call an Account."""

    name: str | None = Field(default=None, max_length=255)
    domain: str | None = Field(default=None, max_length=255, index=True)
    industry: str | None = Field(default=None, max_length=120)
    employees: int | None = None
    annual_revenue: float | None = None
    phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=120)
    country: str | None = Field(default=None, max_length=80)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Person(HubRecord, table=True):
    """A person (lead or contact in CRM terms); custom fields from hub.yaml live in attributes."""

    email: str | None = Field(
        default=None, max_length=255, index=True
    )  # normalised: stripped, lower
    first_name: str | None = Field(default=None, max_length=80)
    last_name: str | None = Field(default=None, max_length=80)
    title: str | None = Field(default=None, max_length=128)
    company: str | None = Field(default=None, max_length=255)
    account_id: str | None = Field(default=None, foreign_key="account.id", max_length=32)
    phone: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=120)
    state: str | None = Field(default=None, max_length=80)
    country: str | None = Field(default=None, max_length=80)
    lead_source: str | None = Field(default=None, max_length=80)
    lifecycle_stage: str | None = Field(default=None, max_length=40)
    score: int | None = None
    unsubscribed: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Campaign(HubRecord, table=True):
    """A marketing program: webinar, email, paid ad, event... what CRMs call a Campaign."""

    name: str | None = Field(default=None, max_length=255)
    type: str | None = Field(default=None, max_length=80)
    channel: str | None = Field(default=None, max_length=80)
    status: str | None = Field(default=None, max_length=40)
    start_date: date | None = None
    end_date: date | None = None
    cost: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class CampaignMember(HubRecord, table=True):
    """A person's membership of a campaign, with its status (Sent, Registered, Attended...)."""

    __tablename__ = "campaign_member"
    __table_args__ = (UniqueConstraint("person_id", "campaign_id"),)

    person_id: str = Field(foreign_key="person.id", max_length=32, index=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32, index=True)
    status: str | None = Field(default=None, max_length=80)
    responded: bool = False
    first_responded_at: datetime | None = None


class Touch(HubRecord, table=True):
    """One marketing touch on a person (a visit, a form fill, an attended webinar)."""

    person_id: str = Field(foreign_key="person.id", max_length=32, index=True)
    campaign_id: str | None = Field(default=None, foreign_key="campaign.id", max_length=32)
    occurred_at: datetime | None = None
    channel: str | None = Field(default=None, max_length=80)
    source: str | None = Field(default=None, max_length=120)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Opportunity(HubRecord, table=True):
    """A deal pulled from the CRM, with the people who played a role in it."""

    name: str | None = Field(default=None, max_length=255)
    amount: float | None = None
    stage: str | None = Field(default=None, max_length=80)
    close_date: date | None = None
    is_closed: bool = False
    is_won: bool = False
    account_id: str | None = Field(default=None, foreign_key="account.id", max_length=32)
    # [{"person_id": ..., "role": ..., "primary": bool}] from OpportunityContactRole.
    contact_roles: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
