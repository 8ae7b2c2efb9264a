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
    #: Indexed: scoring reads an account's people (its breadth rules) a page of accounts at a time.
    account_id: str | None = Field(
        default=None, foreign_key="account.id", max_length=32, index=True
    )
    phone: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=120)
    state: str | None = Field(default=None, max_length=80)
    country: str | None = Field(default=None, max_length=80)
    lead_source: str | None = Field(default=None, max_length=80)
    lifecycle_stage: str | None = Field(default=None, max_length=40)
    #: Stage name → when the person first entered it (ISO date-time text), kept by the
    #: lifecycle engine's caller; idle timers and funnel reports read it.
    stage_entered_at: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    score: int | None = None
    #: Passed the automatic qualification rule (lifecycle.yaml ``aql``), and since when.
    aql: bool = False
    aql_at: datetime | None = None
    unsubscribed: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: When decay alone next moves a rounded score (scoring/run.py), and when an ``idle_days``
    #: rule can next fire (lifecycle/run.py): the hub steps pick the person up then, though
    #: nothing changed. Bookkeeping, not data: written without a change_seq, never synced.
    score_due_at: datetime | None = Field(default=None, index=True)
    stage_due_at: datetime | None = Field(default=None, index=True)
    #: The account scoring last counted the person in (bookkeeping, as the due times): when
    #: they leave it, that account's breadth rules must count again without them.
    scored_account_id: str | None = Field(default=None, max_length=32)
    #: The change_seq scoring's own last write gave the row: its next run does not take its
    #: own write for news (after a full run of a million people, that re-read every one).
    scored_seq: int | None = Field(default=None, sa_type=BigInteger)


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
    """One marketing interaction of one person (a form fill, a webinar attended, an ad click).

    ``natural_key`` (person, time, type, campaign) makes recording a touch idempotent whatever
    brought it: an import read twice, a campaign response seen again. ``member_id`` ties a touch
    made by a campaign membership to it, so the touch follows the membership (and goes with it).
    """

    person_id: str = Field(foreign_key="person.id", max_length=32, index=True)
    campaign_id: str | None = Field(
        default=None, foreign_key="campaign.id", max_length=32, index=True
    )
    member_id: str | None = Field(
        default=None, foreign_key="campaign_member.id", max_length=32, index=True
    )
    occurred_at: datetime | None = None
    touch_type: str | None = Field(default=None, max_length=40)
    channel: str | None = Field(default=None, max_length=80)
    source: str | None = Field(default=None, max_length=120)
    medium: str | None = Field(default=None, max_length=120)
    utm_campaign: str | None = Field(default=None, max_length=255)
    utm_content: str | None = Field(default=None, max_length=255)
    utm_term: str | None = Field(default=None, max_length=255)
    landing_page: str | None = Field(default=None, max_length=2000)
    #: What recorded it: import, crm_response, member_status (later: webform, zoom...).
    origin: str | None = Field(default=None, max_length=40)
    natural_key: str | None = Field(default=None, max_length=64, unique=True, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Opportunity(HubRecord, table=True):
    """A deal pulled from the CRM; its people are its contact roles."""

    name: str | None = Field(default=None, max_length=255)
    amount: float | None = None
    stage: str | None = Field(default=None, max_length=80)
    close_date: date | None = None
    is_closed: bool = False
    is_won: bool = False
    account_id: str | None = Field(default=None, foreign_key="account.id", max_length=32)
    #: When the deal was created in the CRM (``created_at`` is when the hub first saw it):
    #: attribution's lookback and opportunity-creation touch count from this.
    created_on: datetime | None = None
    #: The deal's main contact where the CRM names one on the deal itself (Dynamics
    #: ``parentcontactid``): attribution counts this person beside the contact roles.
    primary_contact_id: str | None = Field(
        default=None, foreign_key="person.id", max_length=32, index=True
    )


class OpportunityContactRole(HubRecord, table=True):
    """A person's role on a deal (Salesforce OpportunityContactRole): who attribution credits."""

    __tablename__ = "opportunity_contact_role"

    opportunity_id: str = Field(foreign_key="opportunity.id", max_length=32, index=True)
    person_id: str = Field(foreign_key="person.id", max_length=32, index=True)
    role: str | None = Field(default=None, max_length=80)
    is_primary: bool = False
