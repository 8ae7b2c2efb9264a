"""Campaign members by the names people know: the person's email and name, the campaign's name.

A campaign_member row holds only two hub ids; pages that show one (errors, runs, records) look
them up here, all of a page's members in one query, and fall back to the ids when the person
or the campaign is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.models import Campaign, CampaignMember, Person, SyncError

HUB_OBJECT = "campaign_member"
#: Ids per IN (...): well under SQLite's bound-parameter limit.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class MemberLabel:
    """Who is in which campaign, as far as the hub still knows them."""

    member_id: str
    person_id: str
    campaign_id: str
    email: str | None
    person_name: str | None
    campaign_name: str | None

    @property
    def person(self) -> str:
        """The person as a reader knows them: email and name, else the hub id."""
        if self.email and self.person_name:
            return f"{self.email} ({self.person_name})"
        return self.email or self.person_name or f"person {self.person_id}"

    @property
    def campaign(self) -> str:
        """The campaign's name, else its hub id."""
        return self.campaign_name or f"campaign {self.campaign_id}"

    def __str__(self) -> str:
        return f"{self.person} in {self.campaign}"


def member_labels(db: Session, member_ids: Iterable[str]) -> dict[str, MemberLabel]:
    """Labels of campaign members by id, in one query per CHUNK ids; unknown ids are left out."""
    wanted = sorted({member_id for member_id in member_ids if member_id})
    found: dict[str, MemberLabel] = {}
    for start in range(0, len(wanted), CHUNK):
        query = (
            select(
                CampaignMember.id,
                CampaignMember.person_id,
                CampaignMember.campaign_id,
                Person.email,
                Person.first_name,
                Person.last_name,
                Campaign.name,
            )
            .outerjoin(Person, col(Person.id) == col(CampaignMember.person_id))
            .outerjoin(Campaign, col(Campaign.id) == col(CampaignMember.campaign_id))
            .where(col(CampaignMember.id).in_(wanted[start : start + CHUNK]))
        )
        for member_id, person_id, campaign_id, email, first, last, name in db.exec(query):
            person_name = " ".join(part for part in (first, last) if part) or None
            found[member_id] = MemberLabel(
                member_id, person_id, campaign_id, email, person_name, name
            )
    return found


def error_members(db: Session, errors: Iterable[SyncError]) -> dict[str, MemberLabel]:
    """Labels for the campaign members a list of errors is about (by the error's hub id)."""
    return member_labels(
        db, (e.hub_id for e in errors if e.hub_object == HUB_OBJECT and e.hub_id)
    )
