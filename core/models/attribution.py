"""Attribution results: credit per opportunity × touch × model, and what the CRM is sent.

The ``attribution_*`` tables are derived data: ``syncline attribution run`` rewrites an
opportunity's rows whenever its inputs change, so they carry no change sequence. Only
``campaign_influence`` is a hub object (it syncs to Salesforce CampaignInfluence through a
mapping), so it is a :class:`HubRecord` whose rows are updated in place, never rewritten
unchanged, and soft-deleted when the credit disappears.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.hub import HubRecord

#: ``positions`` of the row holding a deal's pending share (the CW share of an open deal).
PENDING = "pending"


class AttributionCredit(SQLModel, table=True):
    """One touch's share of one opportunity under one model, or the deal's pending share.

    ``share`` is the exact fraction (``"9/40"``); ``credit`` the same as a decimal, for sums
    in SQL. ``revenue`` is the amount × credit in cents that add up to the amount over the
    opportunity's rows of a model (null while the opportunity has no amount). A pending row
    has no touch and ``positions`` ``pending``.
    """

    __tablename__ = "attribution_credit"
    __table_args__ = (
        # A chunk's rows are replaced by opportunity; the report reads one model.
        Index("ix_attribution_credit_opportunity", "opportunity_id", "model"),
        Index("ix_attribution_credit_model", "model"),
        # A touch that moved away dirties the opportunities it was credited on.
        Index("ix_attribution_credit_touch", "touch_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: str = Field(max_length=32)
    model: str = Field(max_length=40)
    touch_id: str | None = Field(default=None, max_length=32)
    positions: str = Field(max_length=40)  # "FT,LC", "middle" or "pending"
    share: str = Field(max_length=80)
    credit: float = Field(sa_type=Numeric(20, 18, asdecimal=False))
    revenue: float | None = Field(default=None, sa_type=Numeric(18, 2, asdecimal=False))


class AttributionResult(SQLModel, table=True):
    """One opportunity under one model: whether it had any touch, and what it was computed from."""

    __tablename__ = "attribution_result"

    opportunity_id: str = Field(primary_key=True, max_length=32)
    model: str = Field(primary_key=True, max_length=40)
    #: No touch in the journey: nothing credited, reported as "(no touches)".
    unattributed: bool = False
    touches: int = 0  # touches in the journey
    #: The attribution settings' fingerprint and the hub change sequence it was computed at.
    fingerprint: str = Field(max_length=64)
    seq: int = Field(default=0, sa_type=BigInteger)


class AttributionPerson(SQLModel, table=True):
    """A person whose touches counted for an opportunity at its last computation.

    A changed touch or person dirties the opportunities listed here, which covers a person
    who has since left the opportunity's account or role.
    """

    __tablename__ = "attribution_person"

    opportunity_id: str = Field(primary_key=True, max_length=32)
    person_id: str = Field(primary_key=True, max_length=32, index=True)


class AttributionCursor(SQLModel, table=True):
    """How far attribution has read one input table's change sequence (``settings``: the file)."""

    __tablename__ = "attribution_cursor"

    name: str = Field(primary_key=True, max_length=40)
    seq: int = Field(default=0, sa_type=BigInteger)
    fingerprint: str | None = Field(default=None, max_length=64)
    updated_at: datetime | None = None


class CampaignInfluence(HubRecord, table=True):
    """A campaign's share of an opportunity through one person, under one model.

    What Salesforce calls CampaignInfluence: ``influence`` is the percentage (0–100) of the
    opportunity that this person's touches of this campaign earned, ``revenue`` the matching
    part of its amount. Only touches with a campaign count.
    """

    __tablename__ = "campaign_influence"
    __table_args__ = (
        UniqueConstraint(
            "opportunity_id", "campaign_id", "person_id", "model", name="uq_campaign_influence"
        ),
    )

    opportunity_id: str = Field(foreign_key="opportunity.id", max_length=32, index=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32, index=True)
    person_id: str = Field(foreign_key="person.id", max_length=32, index=True)
    model: str = Field(max_length=40)
    influence: float = 0.0
    revenue: float | None = None
    #: Connection name of the CRM that holds the opportunity: each CRM's mapping sends only
    #: its own deals' rows (``sync_rule: "crm == 'salesforce'"``).
    crm: str | None = Field(default=None, max_length=80)
