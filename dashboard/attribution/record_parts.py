"""What the record pages of people, campaigns and opportunities show about attribution.

A person's page lists their touches (newest first) and the opportunities they have a role on;
a campaign's and an opportunity's page link to their attribution pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from core.models import Campaign, HubRecord, Opportunity, OpportunityContactRole, Touch

#: Touches listed on a person's page; more is a story for `syncline export touches`.
TOUCHES_SHOWN = 200


@dataclass
class RecordAttribution:
    """The attribution parts of one record page (empty for other kinds of record)."""

    kind: str = ""
    touches: list[tuple[Touch, Campaign | None]] = field(default_factory=list)
    more_touches: bool = False
    deals: list[tuple[OpportunityContactRole, Opportunity]] = field(default_factory=list)


def record_attribution(session: Session, hub_object: str, record: HubRecord) -> RecordAttribution:
    """Touches and opportunities of a person; only the kind for a campaign or opportunity."""
    if hub_object != "person":
        return RecordAttribution(kind=hub_object)
    rows: list[Any] = list(session.exec(
        select(Touch, Campaign)
        .outerjoin(Campaign, col(Campaign.id) == col(Touch.campaign_id))
        .where(Touch.person_id == record.id, col(Touch.deleted_at).is_(None))
        .order_by(col(Touch.occurred_at).desc().nulls_last(), col(Touch.id).desc())
        .limit(TOUCHES_SHOWN + 1)
    ).all())
    deals: list[Any] = list(session.exec(
        select(OpportunityContactRole, Opportunity)
        .join(Opportunity, col(Opportunity.id) == col(OpportunityContactRole.opportunity_id))
        .where(OpportunityContactRole.person_id == record.id,
               col(OpportunityContactRole.deleted_at).is_(None),
               col(Opportunity.deleted_at).is_(None))
        .order_by(col(Opportunity.created_on).desc(), Opportunity.id)
    ).all())
    return RecordAttribution(
        kind="person",
        touches=[(t, c) for t, c in rows[:TOUCHES_SHOWN]],
        more_touches=len(rows) > TOUCHES_SHOWN,
        deals=[(r, o) for r, o in deals],
    )
