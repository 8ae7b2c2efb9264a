"""The demo: a local CRM and webinar platform, realistic people, and records that fail on purpose.

The failing records give the errors page something true to say.

Everything is seeded once, deterministically (Faker with a fixed seed), and marked with an audit
row, so ``syncline demo --once`` can run again and again: the second run finds nothing to do.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faker import Faker
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.memory.store import MemoryStore
from core.db import session, utcnow
from core.logs import event, get_logger
from core.models import Account, Audit, Person

if TYPE_CHECKING:
    from cli.context import App

log = get_logger("demo")

SEED = 2026
DEMO_DIR = Path("instance/demo")
CONNECTIONS_FILE = Path("instance/connections.yaml")
CONNECTIONS_YAML = """\
# Written by `syncline demo`: two local demo systems, stored as JSON files under instance/demo.
# Point real systems here later (see connections.example.yaml); keep secrets in ${ENV_VARS}.
crm:
  type: memory
  path: instance/demo/crm.json
  api_key: ${DEMO_CRM_API_KEY:-demo-crm-key-2026}
  schema:
    # Like many real orgs, this CRM keeps Company short: long names fail with STRING_TOO_LONG.
    Lead: {fields: {Company: {type: string, length: 80, required: true}}}
webinar:
  type: memory
  path: instance/demo/webinar.json
"""
DEMO_API_KEY = "demo-crm-key-2026"

INDUSTRIES = ["Software", "Banking", "Pharma", "Retail", "Manufacturing"]
COUNTRIES = ["US", "United Kingdom", "Germany", "France", "Canada", "Australia"]
SOURCES = ["Organic Search", "Paid Social", "Event", "Webinar"]
STAGES = ["Lead", "Lead", "MQL", "MQL", "SQL"]
CRM_SOURCES = ["Web", "Webinar", "Trade Show", "Advertisement", "Other"]
WEBINARS = ["Pipeline Math 101", "Attribution Without Tears", "The Clean CRM Playbook"]


def write_connections(path: Path = CONNECTIONS_FILE) -> bool:
    """Write the demo connections file unless one exists; True when written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONNECTIONS_YAML, encoding="utf-8")
    return True


def is_seeded(engine: Engine) -> bool:
    """Has this database been seeded for the demo already?"""
    with Session(engine) as db:
        return db.exec(select(Audit).where(Audit.action == "demo.seeded")).first() is not None


def seed(engine: Engine, crm: MemoryStore, webinar: MemoryStore) -> dict[str, int]:
    """Fill the hub, the CRM and the webinar platform with overlapping, realistic records."""
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    Faker.seed(SEED)
    rnd = random.Random(SEED)
    crm.api_key = DEMO_API_KEY
    companies = sorted({fake.unique.company() for _ in range(18)})
    people: list[dict[str, Any]] = []
    with session(engine) as db:
        for name in companies[:14]:
            domain = _domain(name)
            db.add(
                Account(
                    name=name,
                    domain=domain,
                    website=f"https://www.{domain}",
                    industry=rnd.choice(INDUSTRIES),
                    country=rnd.choice(COUNTRIES),
                    attributes={"tier": rnd.choice(["Gold", "Silver", "Bronze"])},
                )
            )
        for _ in range(150):
            first, last = fake.first_name(), fake.last_name()
            company = rnd.choice(companies)
            person = {
                "email": f"{_ascii(first)}.{_ascii(last)}@{_domain(company)}".lower(),
                "first_name": first,
                "last_name": last,
                "company": company,
                "title": fake.job()[:100],
                "phone": f"+1 {rnd.randint(201, 989)} 555 {rnd.randint(1000, 9999)}",
                "country": rnd.choice(COUNTRIES),
                "lead_source": rnd.choice(SOURCES),
                "lifecycle_stage": rnd.choice(STAGES),
                "score": rnd.randint(0, 100),
            }
            people.append(person)
        # Records that fail on purpose, each for a reason an admin can fix from the dashboard.
        people += [
            {
                "email": "priya.raman@podcastnation.io",
                "first_name": "Priya",
                "last_name": "Raman",
                "company": "Podcast Nation",
                "lead_source": "Podcast",
                "score": 92,
                "lifecycle_stage": "MQL",
            },  # no value_map entry: restricted picklist refuses it
            {
                "email": "hans.mueller@example.de",
                "first_name": "Hans",
                "last_name": "Müller",
                "company": "Internationale Gesellschaft für Maschinenbau, Anlagenbau und "
                "Industrieautomatisierung mbH & Co. KG",
                "score": 88,
                "lifecycle_stage": "SQL",
            },  # longer than the CRM's 80 characters
            {
                "email": "sam.okafor@brightpath.co",
                "first_name": "Sam",
                "last_name": "Okafor",
                "company": "BrightPath",
                "phone": "call after 5pm",
                "score": 75,
                "lifecycle_stage": "MQL",
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
        db.add(Audit(at=utcnow(), actor="demo", action="demo.seeded", detail={"seed": SEED}))
    counts = {"hub_people": len(seen), "hub_accounts": 14}

    with crm.transaction():
        for name in companies[8:]:
            crm.create(
                "Account",
                {
                    "Name": name,
                    "Website": f"https://www.{_domain(name)}",
                    "Industry": rnd.choice(["Technology", "Finance", "Retail"]),
                },
            )
        shared = rnd.sample(people[:150], 12)
        for person in shared:  # the same people, as sales typed them: other case, stray spaces
            crm.create(
                "Lead",
                {
                    "Email": f" {person['email'].upper()}",
                    "FirstName": person["first_name"],
                    "LastName": person["last_name"],
                    "Company": person["company"][:80],
                    "LeadSource": rnd.choice(CRM_SOURCES),
                    "Status": "Working",
                },
            )
        for _ in range(45):
            first, last, company = fake.first_name(), fake.last_name(), fake.company()
            crm.create(
                "Lead",
                {
                    "Email": f"{_ascii(first)}.{_ascii(last)}@{_domain(company)}".lower(),
                    "FirstName": first,
                    "LastName": last,
                    "Company": company[:80],
                    "Title": fake.job()[:100],
                    "LeadSource": rnd.choice(CRM_SOURCES),
                    "Status": rnd.choice(["Open", "Working", "Qualified"]),
                },
            )
        for _ in range(3):  # partner referrals: pull_rule keeps them out of the hub
            crm.create(
                "Lead",
                {
                    "Email": fake.unique.email(),
                    "LastName": fake.last_name(),
                    "Company": fake.company()[:80],
                    "LeadSource": "Partner Referral",
                },
            )
        # Two Leads for one person: the duplicate is reported, never merged silently.
        for first in ("Dana", "Dana M."):
            crm.create(
                "Lead",
                {
                    "Email": "dana.whitfield@northwind.example",
                    "FirstName": first,
                    "LastName": "Whitfield",
                    "Company": "Northwind",
                },
                validate=False,
            )
    counts["crm_leads"] = crm.count("Lead")

    with webinar.transaction():
        attendees = rnd.sample(people[:150], 15)
        for person in attendees:
            webinar.create(
                "Registrant",
                {
                    "Email": person["email"],
                    "FirstName": person["first_name"],
                    "LastName": person["last_name"],
                    "Company": person["company"],
                    "Webinar": rnd.choice(WEBINARS),
                    "Attended": rnd.random() < 0.6,
                    "RegisteredAt": utcnow().isoformat(),
                },
            )
        for _ in range(25):
            first, last = fake.first_name(), fake.last_name()
            webinar.create(
                "Registrant",
                {
                    "Email": f"{_ascii(first)}.{_ascii(last)}@{fake.free_email_domain()}".lower(),
                    "FirstName": first,
                    "LastName": last,
                    "Webinar": rnd.choice(WEBINARS),
                    "Attended": rnd.random() < 0.5,
                    "RegisteredAt": utcnow().isoformat(),
                },
            )
    counts["registrants"] = webinar.count("Registrant")
    event(log, "demo.seeded", **counts)
    return counts


def activity_job(app: App) -> Callable[[], None]:
    """A job for the demo scheduler: a sales rep and a marketer making small edits."""
    rnd = random.Random()
    fake = Faker()

    def act() -> None:
        crm = MemoryStore.at(app.connections.get("crm")["path"])
        webinar = MemoryStore.at(app.connections.get("webinar")["path"])
        leads = crm.all("Lead")
        if leads:
            lead = rnd.choice(leads)
            crm.update("Lead", lead["Id"], {"Title": fake.job()[:100]}, validate=False)
        with session(app.engine) as db:
            people = db.exec(select(Person).where(Person.deleted_at == None).limit(200)).all()  # noqa: E711
            if people:
                person = rnd.choice(people)
                person.score = min(100, (person.score or 0) + rnd.randint(5, 20))
                db.add(person)
        first, last = fake.first_name(), fake.last_name()
        webinar.create(
            "Registrant",
            {
                "Email": f"{_ascii(first)}.{_ascii(last)}@{fake.free_email_domain()}".lower(),
                "FirstName": first,
                "LastName": last,
                "Webinar": rnd.choice(WEBINARS),
                "Attended": False,
                "RegisteredAt": utcnow().isoformat(),
            },
        )
        event(log, "demo.activity")

    return act


def _ascii(text: str) -> str:
    table = str.maketrans(
        {
            "ä": "ae",
            "ö": "oe",
            "ü": "ue",
            "ß": "ss",
            "é": "e",
            "è": "e",
            "ç": "c",
            "à": "a",
            "ô": "o",
            "ë": "e",
            "ï": "i",
        }
    )
    return "".join(ch for ch in text.lower().translate(table) if ch.isalnum()) or "someone"


def _domain(company: str) -> str:
    return (_ascii(company.split(",")[0].split(" ")[0]) or "example") + ".example"
