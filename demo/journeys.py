"""The demo's buyer journeys: what marketing knew of the people on the CRMs' deals.

The Salesforce org holds deals with contact roles (sandboxes.salesforce.seed), the Dataverse
environment deals with their contact and a stakeholder (sandboxes.dynamics.seed). Marketing met
those people long before: as webinar attendees, ebook readers, ad clickers and booth visitors.
This module gives the hub those people (the Contact pull links them by email) and their touches
around each deal's creation, so the first `syncline demo` run computes real attribution, and
creates one Campaign Influence model per attribution model in the org, as an admin does in
Setup, so the credit lands in Salesforce.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from core.models import Campaign, Person
from sandboxes.salesforce import influence
from sandboxes.salesforce.validation import parse_datetime
from touches.record import TouchInput, record_touch
from touches.types import Origin

if TYPE_CHECKING:
    from sandboxes.dynamics.store import Environment
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


#: A deal as journeys need it: when it opened, and its people's (email, first, last name).
Deal = tuple[datetime, list[tuple[str, str | None, str | None]]]


def seed_journeys(db: Session, org: Org, rnd: random.Random) -> dict[str, int]:
    """Hub people for the contacts on the org's deals and their touches (idempotent keys)."""
    contacts = {row["Id"]: row for row in org.rows("Contact")}
    roles: dict[str, list[dict]] = {}
    for role in sorted(org.rows("OpportunityContactRole"), key=lambda row: row["Id"]):
        roles.setdefault(role["OpportunityId"], []).append(role)
    deals: list[Deal] = []
    for deal in sorted(org.rows("Opportunity"), key=lambda row: row["Id"]):
        people = [contacts[role["ContactId"]] for role in roles.get(deal["Id"], [])
                  if contacts.get(role["ContactId"], {}).get("Email")]
        deals.append((parse_datetime(str(deal["CreatedDate"])),
                      [(str(c["Email"]), c.get("FirstName"), c.get("LastName")) for c in people]))
    return _journeys(db, deals, org.now(), rnd)


def seed_dynamics_journeys(db: Session, env: Environment, rnd: random.Random) -> dict[str, int]:
    """The same for the Dataverse environment's deals: their contact and stakeholders."""
    contacts = {row["contactid"]: row for row in env.rows("contact")}
    stakeholders: dict[str, list[str]] = {}
    for row in sorted(env.rows("connection"), key=lambda row: row["connectionid"]):
        if row.get("ismaster") and row.get("record1objecttypecode") == 3:
            stakeholders.setdefault(row["_record1id_value"], []).append(row["_record2id_value"])
    deals: list[Deal] = []
    for deal in sorted(env.rows("opportunity"), key=lambda row: row["opportunityid"]):
        ids = [deal.get("_parentcontactid_value"), *stakeholders.get(deal["opportunityid"], [])]
        people = [contacts[i] for i in ids if i in contacts and contacts[i].get("emailaddress1")]
        deals.append((parse_datetime(str(deal["createdon"])),
                      [(str(c["emailaddress1"]), c.get("firstname"), c.get("lastname"))
                       for c in people]))
    return _journeys(db, deals, datetime.now(UTC), rnd)


def _journeys(
    db: Session, deals: list[Deal], now: datetime, rnd: random.Random
) -> dict[str, int]:
    campaigns = _programs(db)
    touches = people = 0
    known = {p.email: p for p in db.exec(select(Person))}
    for opened, contacts in deals:
        for address, first_name, last_name in contacts:
            email = address.lower()
            person = known.get(email)
            if person is None:
                person = Person(email=email, first_name=first_name, last_name=last_name)
                db.add(person)
                db.flush()
                known[email] = person
                people += 1
            for moment in _moments(rnd, opened, now):
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
    """The webinars already seeded plus the other programs, as hub campaigns (made once)."""
    campaigns = list(db.exec(select(Campaign).where(Campaign.type == "Webinar")))
    existing = {c.name: c for c in db.exec(select(Campaign))}
    for name, kind, channel, _ in PROGRAMS:
        campaign = existing.get(name) or Campaign(name=name, type=kind, channel=channel,
                                                  status="Completed")
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
