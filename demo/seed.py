"""The demo's data: hub people and accounts, CRM records, Zoom webinars, seeded once.

Everything is seeded deterministically (Faker with a fixed seed) and marked with an audit row,
so ``syncline demo --once`` can run again and again: the second run finds nothing to seed.
A few records fail on purpose, each for a reason an admin can fix from the dashboard.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from faker import Faker
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.db import session
from core.logs import event, get_logger
from core.models import Account, Audit, Campaign, CampaignMember, Person, Touch
from demo.engagement import TARGET_TITLES, seed_engagement, seed_hot_lead
from demo.journeys import seed_dynamics_journeys, seed_influence_models, seed_journeys
from demo.webinars import seed_zoom
from sandboxes.dynamics.seed import seed_environment
from sandboxes.salesforce.seed import ascii_slug, domain_for, seed_org

if TYPE_CHECKING:
    from sandboxes.dynamics.store import Environment
    from sandboxes.salesforce.org import Org
    from sandboxes.zoom.store import Account as ZoomAccount

log = get_logger("demo")

SEED = 2026
INDUSTRIES = ["Software", "Banking", "Pharma", "Retail", "Manufacturing"]
COUNTRIES = ["US", "United Kingdom", "Germany", "France", "Canada", "Australia"]
#: Head counts of the demo's accounts: the scoring file's "Large company" starts at 1,000.
EMPLOYEES = [40, 180, 650, 1200, 4500, 25000]
SOURCES = ["Organic Search", "Paid Social", "Event", "Webinar"]
WEBINARS = ["Pipeline Math 101", "Attribution Without Tears", "The Clean CRM Playbook"]


def is_seeded(engine: Engine) -> bool:
    """Has this database been seeded for the demo already?"""
    with Session(engine) as db:
        return db.exec(select(Audit).where(Audit.action == "demo.seeded")).first() is not None


def seed(
    engine: Engine,
    org: Org | None,
    env: Environment | None,
    zoom: ZoomAccount | None,
    influence_models: Sequence[str] = (),
) -> dict[str, int]:
    """Fill the hub, the Salesforce org, Dataverse environment and Zoom account (those we run).

    ``influence_models``: the attribution models, each made a Campaign Influence model in the
    org (as an admin would) so the hub's credit can be written there.
    """
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    Faker.seed(SEED)
    rnd = random.Random(SEED)
    companies = sorted({fake.unique.company() for _ in range(18)})
    people: list[dict[str, Any]] = []
    accounts: dict[str, str] = {}
    with session(engine) as db:
        for name in companies[:14]:
            domain = domain_for(name)
            account = Account(
                name=name,
                domain=domain,
                website=f"https://www.{domain}",
                industry=rnd.choice(INDUSTRIES),
                country=rnd.choice(COUNTRIES),
                employees=rnd.choice(EMPLOYEES),
                attributes={"tier": rnd.choice(["Gold", "Silver", "Bronze"])},
            )
            db.add(account)
            accounts[name] = account.id
        # No scores or stages here: the hub steps compute them from what people did
        # (demo.engagement), as they do for every touch the connectors bring in.
        for _ in range(150):
            first, last = fake.first_name(), fake.last_name()
            company = rnd.choice(companies)
            # A quarter hold the titles the AQL rule targets; the rest whatever Faker says.
            title = rnd.choice(TARGET_TITLES) if rnd.random() < 0.25 else fake.job()[:100]
            person = {
                "email": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain_for(company)}".lower(),
                "first_name": first,
                "last_name": last,
                "company": company,
                "account_id": accounts.get(company),
                "title": title,
                "phone": f"+1 {rnd.randint(201, 989)} 555 {rnd.randint(1000, 9999)}",
                "country": rnd.choice(COUNTRIES),
                "lead_source": rnd.choice(SOURCES),
            }
            people.append(person)
        # Records that fail on purpose, each for a reason an admin can fix from the dashboard.
        people += [
            {
                "email": "priya.raman@podcastnation.io",
                "first_name": "Priya",
                "last_name": "Raman",
                "company": "Podcast Nation",
                "phone": "+1 415 555 0199",
                "lead_source": "Podcast",
                "title": "VP Marketing",
                "country": "US",
            },  # no value_map entry: Salesforce's restricted Lead Source picklist refuses it
            {
                "email": "hans.mueller@example.de",
                "first_name": "Hans",
                "last_name": "Müller",
                "company": "Maschinenbau Müller",
                "title": "Director of Marketing",
                "country": "Germany",
            },  # an MQL without a phone: the org's validation rule refuses the Lead
            {
                "email": "sam.okafor@brightpath.co",
                "first_name": "Sam",
                "last_name": "Okafor",
                "company": "BrightPath",
                "phone": "call after 5pm",
                "title": "Director of Operations",
                "country": "US",
            },  # not a phone number: the phone_e164 transform fails
        ]
        seen: set[str] = set()
        for values in people:
            if values["email"] in seen:
                continue
            seen.add(values["email"])
            db.add(
                Person(
                    **values,
                    attributes={
                        "industry_segment": rnd.choice(["SMB", "Mid-Market", "Enterprise"])
                    },
                )
            )
        db.flush()
        ids = {p.email: p.id for p in db.exec(select(Person))}
        now = utcnow()
        touches = seed_engagement(db, rnd, [ids[p["email"]] for p in people[:150]], now)
        # The three that fail on purpose must reach Salesforce to fail there: engaged enough
        # to be MQLs. So are a few of the people with a target title: some of those are AQLs
        # too, where their account scores high enough.
        hot = [p["email"] for p in people[150:]]
        large = {a.id for a in db.exec(select(Account).where(col(Account.employees) >= 1000))}
        hot += [p["email"] for p in people[:150]
                if p["title"] in TARGET_TITLES and p["account_id"] in large][:8]
        for email in hot:
            touches += seed_hot_lead(db, ids[email], now)
        # Webinar registrants and attendees among everyone: a member whose person is not in
        # Salesforce stays out of the campaign member mapping's scope.
        members = _seed_campaigns(db, rnd, [p["email"] for p in people[:150]])
        db.add(Audit(at=utcnow(), actor="demo", action="demo.seeded", detail={"seed": SEED}))
    counts = {"hub_people": len(seen), "hub_accounts": 14, "hub_campaign_members": members,
              "hub_engagement_touches": touches}
    if org is not None:
        shared = [p for p in rnd.sample(people[:150], 12) if p.get("phone")]
        for name, count in seed_org(org, shared, seed=SEED).items():
            counts[f"salesforce_{name.replace(' ', '_')}"] = count
        with session(engine) as db:
            counts.update(seed_journeys(db, org, rnd))
        counts["salesforce_influence_models"] = seed_influence_models(org, influence_models)
    if env is not None:
        # Others marketing also knows in the Dynamics business unit (two of them in both CRMs).
        shared = rnd.sample(people[100:150], 6)
        for name, count in seed_environment(env, shared).items():
            counts[f"dynamics_{name.replace(' ', '_')}"] = count
        with session(engine) as db:
            # Its own random stream: the Salesforce half of the demo stays as it was.
            for name, count in seed_dynamics_journeys(db, env, random.Random(SEED + 1)).items():
                counts[f"dynamics_{name}"] = count

    if zoom is not None:
        # Its own random stream too: the CRM halves of the demo stay as they were.
        # People on the Salesforce deals (their journeys are in the hub): the webinars they
        # attended become part of the credit those deals' attribution hands out.
        contacts = {str(row.get("Email")).lower() for row in org.rows("Contact")} if org else set()
        with session(engine) as db:
            on_deals = [{"email": p.email, "first_name": p.first_name, "last_name": p.last_name,
                         "company": p.company}
                        for p in db.exec(select(Person).where(col(Person.id).in_(
                            select(Touch.person_id)))).all() if p.email in contacts]
        counts.update(seed_zoom(zoom, people[:150], random.Random(SEED + 2), fake,
                                on_deals=on_deals))
    event(log, "demo.seeded", **counts)
    return counts


def _seed_campaigns(db: Session, rnd: random.Random, emails: list[str]) -> int:
    """Marketing's webinars as hub campaigns, with registrants who attended or did not.

    And the website's demo-request program, which the pricing form's submissions join.
    """
    people = {p.email: p.id for p in db.exec(select(Person))}
    db.add(Campaign(name="Website Demo Requests", type="Web Form", channel="Web",
                    status="Active", start_date=date(2026, 1, 1)))
    count = 0
    for index, name in enumerate(WEBINARS):
        campaign = Campaign(
            name=f"Webinar: {name}", type="Webinar", channel="Webinar", status="Completed",
            start_date=date(2026, 9 + index, 10), end_date=date(2026, 9 + index, 10),
            cost=float(rnd.choice([1500, 2500, 4000])),
        )
        db.add(campaign)
        db.flush()
        for email in rnd.sample(emails, 8):
            status = rnd.choice(["registered", "attended", "attended", "no_show"])
            # An attendee responded, as Salesforce says of an Attended member.
            came = status == "attended"
            joined = datetime.combine(campaign.start_date, time(16, rnd.randint(0, 9)), UTC)
            db.add(CampaignMember(person_id=people[email], campaign_id=campaign.id,
                                  status=status, responded=came,
                                  first_responded_at=joined if came else None))
            count += 1
    return count
