"""The demo's buyer journeys: what marketing knew of the people on Salesforce's deals.

The Salesforce org holds deals with contact roles (sandboxes.salesforce.seed). Marketing met
those people long before: as webinar attendees, ebook readers, ad clickers and booth visitors.
This module gives the hub those people (the Contact pull links them by email) and their touches
around each deal's creation, so the first `syncline demo` run computes real attribution, and
creates one Campaign Influence model per attribution model in the org, as an admin does in
Setup, so the credit lands in Salesforce.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from core.models import Campaign, Person
from sandboxes.salesforce import influence
from sandboxes.salesforce.validation import parse_datetime
from touches.record import TouchInput, record_touch
from touches.types import Origin

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org

#: Programs beside the webinars, each (name, type, channel, touch type); types the Salesforce
#: campaign mapping knows, so they reach Salesforce and can carry Campaign Influence.
PROGRAMS = [
    ("Email: The Attribution Field Guide", "Email", "Email", "email_click"),
    ("Paid Social: Retargeting Q3", "Paid Social", "Paid Ads", "ad_click"),
    ("Trade Show: Data Summit Berlin", "Trade Show", "Event", "event"),
]
#: Touches without a campaign: (touch type, channel, source, medium, landing page).
WEB = [
    ("web_visit", "Web", "google", "organic", "/blog/multi-touch-attribution"),
    ("form_fill", "Web", "google", "cpc", "/demo-request"),
    ("content_download", "Web", "linkedin", "social", "/resources/roi-calculator"),
]


def seed_journeys(db: Session, org: Org, rnd: random.Random) -> dict[str, int]:
    """Hub people for the contacts on the org's deals and their touches (idempotent keys)."""
    campaigns = _programs(db)
    touches = people = 0
    contacts = {row["Id"]: row for row in org.rows("Contact")}
    known = {p.email: p for p in db.exec(select(Person))}
    roles: dict[str, list[dict]] = {}
    for role in sorted(org.rows("OpportunityContactRole"), key=lambda row: row["Id"]):
        roles.setdefault(role["OpportunityId"], []).append(role)
    for deal in sorted(org.rows("Opportunity"), key=lambda row: row["Id"]):
        opened = parse_datetime(str(deal["CreatedDate"]))
        for role in roles.get(deal["Id"], []):
            contact = contacts.get(role["ContactId"])
            if contact is None or not contact.get("Email"):
                continue
            email = str(contact["Email"]).lower()
            person = known.get(email)
            if person is None:
                person = Person(email=email, first_name=contact.get("FirstName"),
                                last_name=contact.get("LastName"))
                db.add(person)
                db.flush()
                known[email] = person
                people += 1
            for moment in _moments(rnd, opened, org.now()):
                record_touch(db, _touch(rnd, person.id, moment, campaigns))
                touches += 1
    return {"hub_journey_people": people, "hub_touches": touches}


def seed_influence_models(org: Org, names: Sequence[str]) -> int:
    """One locked custom Campaign Influence model per attribution model, named by it."""
    made = 0
    for name in names:
        if influence.model_named(org, name) is None:
            influence.create_model(org, {
                "DeveloperName": name,
                "MasterLabel": f"Syncline {name.replace('_', ' ')}",
                "ModelDescription": f"Syncline's {name} attribution, computed in the hub",
                "IsModelLocked": True,
            }, user_id=org.default_owner_id)
            made += 1
    return made


def _programs(db: Session) -> list[Campaign]:
    """The webinars already seeded plus the other programs, as hub campaigns."""
    campaigns = list(db.exec(select(Campaign).where(Campaign.type == "Webinar")))
    for name, kind, channel, _ in PROGRAMS:
        campaign = Campaign(name=name, type=kind, channel=channel, status="Completed")
        db.add(campaign)
        campaigns.append(campaign)
    db.flush()
    return campaigns


def _moments(rnd: random.Random, opened: datetime, now: datetime) -> list[datetime]:
    """Two to five times: most before the deal opened (up to four months), some after."""
    before = [opened - timedelta(days=rnd.randint(1, 120), hours=rnd.randint(0, 23))
              for _ in range(rnd.randint(1, 4))]
    after = [min(now, opened + timedelta(days=rnd.randint(1, 20)))
             for _ in range(rnd.randint(0, 1))]
    return sorted(before + after)


def _touch(
    rnd: random.Random, person_id: str, moment: datetime, campaigns: list[Campaign]
) -> TouchInput:
    kinds = {name: kind for name, _, _, kind in PROGRAMS}
    if rnd.random() < 0.3:
        kind, channel, source, medium, page = rnd.choice(WEB)
        return TouchInput(person_id=person_id, occurred_at=moment, touch_type=kind,
                          origin=Origin.IMPORT, channel=channel, source=source, medium=medium,
                          landing_page=page)
    campaign = rnd.choice(campaigns)
    kind = kinds.get(campaign.name or "", "webinar_attended")
    return TouchInput(person_id=person_id, occurred_at=moment, touch_type=kind,
                      origin=Origin.IMPORT, campaign_id=campaign.id, channel=campaign.channel,
                      source="syncline-demo", medium=(campaign.channel or "").lower())
