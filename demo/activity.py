"""The demo scheduler's extra job: a sales rep and a marketer making small edits while it runs."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests
from faker import Faker
from sqlmodel import select

from connectors.memory.store import MemoryStore
from core.db import session
from core.logs import event, get_logger
from core.models import Person
from demo.sandboxes import dynamics_address, salesforce_address
from demo.seed import WEBINARS, new_registrant

if TYPE_CHECKING:
    from cli.context import App

log = get_logger("demo")


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
        webinar.create("Registrant", new_registrant(fake, rnd.choice(WEBINARS), attended=False))
        event(log, "demo.activity")

    return act
