"""The demo: the Salesforce sandbox, a webinar platform, people, records that fail on purpose.

The failing records give the errors page something true to say, in Salesforce's own words.

Everything is seeded once, deterministically (Faker with a fixed seed), and marked with an audit
row, so ``syncline demo --once`` can run again and again: the second run finds nothing to do.
The sandbox keeps its org in ``instance/demo/salesforce.json`` so its ids outlive a restart.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from faker import Faker
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.memory.store import MemoryStore
from core.db import session, utcnow
from core.logs import event, get_logger
from core.models import Account, Audit, Campaign, CampaignMember, Person
from sandboxes.dynamics.seed import seed_environment
from sandboxes.salesforce.seed import ascii_slug, domain_for, seed_org

if TYPE_CHECKING:
    from cli.context import App
    from sandboxes.dynamics.sandbox import DynamicsSandbox
    from sandboxes.dynamics.store import Environment
    from sandboxes.salesforce.org import Org
    from sandboxes.salesforce.sandbox import SalesforceSandbox

log = get_logger("demo")

SEED = 2026
DEMO_DIR = Path("instance/demo")
CONNECTIONS_FILE = Path("instance/connections.yaml")
SALESFORCE_STATE = DEMO_DIR / "salesforce.json"
DYNAMICS_STATE = DEMO_DIR / "dynamics.json"
CONNECTIONS_YAML = """\
# Written by `syncline demo`: the Salesforce and Dataverse sandboxes (the demo starts them on
# ports 8701 and 8702 and keeps their data in instance/demo/) and a webinar platform stored as
# a JSON file.
# Point real systems here later (see connections.example.yaml); keep secrets in ${ENV_VARS}.
salesforce:
  type: salesforce
  login_url: ${DEMO_SALESFORCE_URL:-http://127.0.0.1:8701}
  auth: password
  client_id: 3MVG9sandbox.syncline.demo.client.id
  client_secret: ${DEMO_SALESFORCE_CLIENT_SECRET:-sandbox-demo-client-secret}
  username: integration@syncline-sandbox.example
  password: ${DEMO_SALESFORCE_PASSWORD:-sandbox-demo-password}
  security_token: ${DEMO_SALESFORCE_TOKEN:-SandboxDemoToken}
dynamics:
  type: dynamics
  url: ${DEMO_DYNAMICS_URL:-http://127.0.0.1:8702}
  token_url: ${DEMO_DYNAMICS_URL:-http://127.0.0.1:8702}/7f3c2b1a-0d4e-4c5b-9a8f-5e6d7c8b9a01/oauth2/v2.0/token
  client_id: 51f81489-12ee-4a9e-aaae-a2591f45987d
  client_secret: ${DEMO_DYNAMICS_CLIENT_SECRET:-sandbox~secret.Dataverse-2027}
webinar:
  type: memory
  path: instance/demo/webinar.json
"""

INDUSTRIES = ["Software", "Banking", "Pharma", "Retail", "Manufacturing"]
COUNTRIES = ["US", "United Kingdom", "Germany", "France", "Canada", "Australia"]
SOURCES = ["Organic Search", "Paid Social", "Event", "Webinar"]
STAGES = ["Lead", "Lead", "MQL", "MQL", "SQL"]
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


def seed(
    engine: Engine, org: Org | None, env: Environment | None, webinar: MemoryStore
) -> dict[str, int]:
    """Fill the hub, the Salesforce org and Dataverse environment (those we run), the webinars."""
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    Faker.seed(SEED)
    rnd = random.Random(SEED)
    companies = sorted({fake.unique.company() for _ in range(18)})
    people: list[dict[str, Any]] = []
    with session(engine) as db:
        for name in companies[:14]:
            domain = domain_for(name)
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
                "email": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain_for(company)}".lower(),
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
                "phone": "+1 415 555 0199",
                "lead_source": "Podcast",
                "score": 92,
                "lifecycle_stage": "MQL",
            },  # no value_map entry: Salesforce's restricted Lead Source picklist refuses it
            {
                "email": "hans.mueller@example.de",
                "first_name": "Hans",
                "last_name": "Müller",
                "company": "Maschinenbau Müller",
                "score": 88,
                "lifecycle_stage": "MQL",
            },  # worked (MQL) but no phone: the org's validation rule refuses the Lead
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
        db.flush()
        # Members are people the lead mapping sends to Salesforce (its sync_rule), so their
        # memberships can follow them there.
        synced = [
            p["email"] for p in people[:150]
            if p["score"] >= 40 or p["lifecycle_stage"] in ("MQL", "SQL")
        ]
        members = _seed_campaigns(db, rnd, synced)
        db.add(Audit(at=utcnow(), actor="demo", action="demo.seeded", detail={"seed": SEED}))
    counts = {"hub_people": len(seen), "hub_accounts": 14, "hub_campaign_members": members}
    if org is not None:
        shared = [p for p in rnd.sample(people[:150], 12) if p.get("phone")]
        for name, count in seed_org(org, shared, seed=SEED).items():
            counts[f"salesforce_{name.replace(' ', '_')}"] = count
    if env is not None:
        # Others marketing also knows in the Dynamics business unit (two of them in both CRMs).
        shared = rnd.sample(people[100:150], 6)
        for name, count in seed_environment(env, shared).items():
            counts[f"dynamics_{name.replace(' ', '_')}"] = count

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
                    "Email": f"{ascii_slug(first)}.{ascii_slug(last)}@{fake.free_email_domain()}",
                    "FirstName": first,
                    "LastName": last,
                    "Webinar": rnd.choice(WEBINARS),
                    "Attended": rnd.random() < 0.5,
                    "RegisteredAt": utcnow().isoformat(),
                },
            )
        # Someone pasted a whole address into the company box: longer than the hub's 255.
        webinar.create(
            "Registrant",
            {
                "Email": "li.wei@example.cn",
                "FirstName": "Li",
                "LastName": "Wei",
                "Company": "Shenzhen Advanced Manufacturing and Industrial Automation Technology "
                "Co., Ltd., Building 7, Phase 2, Nanshan Science and Technology Park, Nanshan "
                "District, Shenzhen, Guangdong Province, People's Republic of China, Attn: "
                "Procurement and Strategic Sourcing Department",
                "Webinar": WEBINARS[0],
                "Attended": True,
                "RegisteredAt": utcnow().isoformat(),
            },
            validate=False,  # the webinar platform's form has no limit
        )
    counts["registrants"] = webinar.count("Registrant")
    event(log, "demo.seeded", **counts)
    return counts


def _seed_campaigns(db: Session, rnd: random.Random, emails: list[str]) -> int:
    """Marketing's webinars as hub campaigns, with registrants who attended or did not."""
    people = {p.email: p.id for p in db.exec(select(Person))}
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
            db.add(CampaignMember(person_id=people[email], campaign_id=campaign.id,
                                  status=status))
            count += 1
    return count


def _address(app: App, connection: str, key: str, port: int) -> tuple[str, int]:
    url = urlsplit(str(app.connections.get(connection)[key]))
    return url.hostname or "127.0.0.1", url.port or port


def salesforce_address(app: App) -> tuple[str, int]:
    """Host and port of the demo's Salesforce sandbox, from the connections file."""
    return _address(app, "salesforce", "login_url", 8701)


def dynamics_address(app: App) -> tuple[str, int]:
    """Host and port of the demo's Dataverse sandbox, from the connections file."""
    return _address(app, "dynamics", "url", 8702)


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
        return True  # someone runs it already (`syncline sandbox ...`): use theirs
    except requests.ConnectionError:
        return False


@dataclass
class DemoSandboxes:
    """The sandboxes this demo process started (None: one already answered, or not ours)."""

    salesforce: SalesforceSandbox | None = None
    dynamics: DynamicsSandbox | None = None

    def stop(self) -> None:
        """Stop them; each saves its data for the next run."""
        for sandbox in (self.salesforce, self.dynamics):
            if sandbox is not None:
                sandbox.stop()


def start_sandboxes(app: App) -> DemoSandboxes:
    """Start the Salesforce and Dataverse sandboxes the demo connections point at."""
    from sandboxes.dynamics.sandbox import DynamicsSandbox
    from sandboxes.salesforce.sandbox import SalesforceSandbox

    started = DemoSandboxes()
    try:
        host, port = salesforce_address(app)
        if not _answers(f"http://{host}:{port}/services/data/"):
            started.salesforce = SalesforceSandbox(
                host=host, port=port, state_path=SALESFORCE_STATE
            ).start()
        host, port = dynamics_address(app)
        if not _answers(f"http://{host}:{port}/api/data/v9.2/"):
            started.dynamics = DynamicsSandbox(
                host=host, port=port, state_path=DYNAMICS_STATE
            ).start()
    except BaseException:
        started.stop()
        raise
    return started


def activity_job(app: App) -> Callable[[], None]:
    """A job for the demo scheduler: a sales rep and a marketer making small edits.

    The reps work through the sandboxes' control endpoints (as people in the CRMs would);
    now and then they convert or qualify a lead, so the hub shows people following it to a
    contact.
    """
    rnd = random.Random()
    fake = Faker()
    runs = 0

    def act() -> None:
        nonlocal runs
        runs += 1
        host, port = salesforce_address(app)
        control = f"http://{host}:{port}/__sandbox__"
        try:
            leads = requests.get(f"{control}/records/Lead", timeout=5).json()
            if leads:
                lead = rnd.choice(leads)
                requests.patch(
                    f"{control}/records/Lead/{lead['Id']}", json={"Title": fake.job()[:100]},
                    timeout=5,
                )
                if runs % 5 == 0:
                    requests.post(f"{control}/convert", json={"lead_id": lead["Id"]}, timeout=5)
        except (requests.RequestException, ValueError) as exc:
            event(log, "demo.activity_failed", error=str(exc))
        host, port = dynamics_address(app)
        control = f"http://{host}:{port}/__sandbox__"
        try:  # a Dynamics seller retitles a lead: the edit travels hub-ward and to Salesforce
            leads = requests.get(f"{control}/records/leads", timeout=5).json()
            leads = leads.get("value", leads) if isinstance(leads, dict) else leads
            open_leads = [lead for lead in leads if lead.get("statecode") == 0]
            if open_leads:
                lead = rnd.choice(open_leads)
                requests.patch(
                    f"{control}/records/leads/{lead['leadid']}",
                    json={"jobtitle": fake.job()[:100]}, timeout=5,
                )
                if runs % 7 == 0:
                    requests.post(f"{control}/qualify", json={"lead_id": lead["leadid"]},
                                  timeout=5)
        except (requests.RequestException, ValueError, KeyError) as exc:
            event(log, "demo.activity_failed", error=str(exc))
        with session(app.engine) as db:
            people = db.exec(select(Person).where(Person.deleted_at == None).limit(200)).all()  # noqa: E711
            if people:
                person = rnd.choice(people)
                person.score = min(100, (person.score or 0) + rnd.randint(5, 20))
                db.add(person)
        webinar = MemoryStore.at(app.connections.get("webinar")["path"])
        first, last = fake.first_name(), fake.last_name()
        webinar.create(
            "Registrant",
            {
                "Email": f"{ascii_slug(first)}.{ascii_slug(last)}@{fake.free_email_domain()}",
                "FirstName": first,
                "LastName": last,
                "Webinar": rnd.choice(WEBINARS),
                "Attended": False,
                "RegisteredAt": utcnow().isoformat(),
            },
        )
        event(log, "demo.activity")

    return act
