"""The demo scheduler's extra job: a sales rep and a marketer making small edits while it runs."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests
from faker import Faker
from sqlmodel import select

from core.clock import utcnow
from core.db import session
from core.logs import event, get_logger
from core.models import Campaign, CampaignMember, Person
from demo.engagement import ACTIONS, engagement_touch
from demo.sandboxes import dynamics_address, salesforce_address, zoom_address
from demo.webinars import WEBINARS, new_registrant
from touches.record import record_touch

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
            # Someone comes back to the site: the scoring step adds the points, and now and
            # then that makes a new MQL whose Lead Status changes in Salesforce.
            people = db.exec(select(Person.id).where(Person.deleted_at == None).limit(200)).all()  # noqa: E711
            if people:
                person_id = rnd.choice(people)
                for _ in range(rnd.randint(1, 3)):
                    record_touch(db, engagement_touch(person_id, utcnow(), rnd.choice(ACTIONS)))
        _webinar_signups(app, rnd, fake, runs)
        event(log, "demo.activity")

    return act


def _webinar_signups(app: App, rnd: random.Random, fake: Faker, runs: int) -> None:
    """Sign someone up for the upcoming webinar, on Zoom's page or (now and then) in the hub.

    A hub member with status registered is what a form fill or a CRM campaign member makes;
    the Zoom mapping registers that person over there.
    """
    upcoming = next(topic for topic, _, _, over in WEBINARS if not over)
    host, port = zoom_address(app)
    control = f"http://{host}:{port}/__sandbox__"
    try:
        webinars = requests.get(f"{control}/webinars", timeout=5).json()
        found = [w for w in webinars if w.get("topic") == upcoming]
        if found:
            requests.post(f"{control}/webinars/{found[0]['id']}/registrants",
                          json=new_registrant(fake), timeout=5)
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        event(log, "demo.activity_failed", error=str(exc))
    if runs % 4:
        return
    with session(app.engine) as db:
        campaign = db.exec(select(Campaign).where(Campaign.name == upcoming)).first()
        if campaign is None:
            return  # not synced from Zoom yet
        joined = set(db.exec(select(CampaignMember.person_id)
                             .where(CampaignMember.campaign_id == campaign.id)))
        people = [p for p in db.exec(select(Person).where(Person.email != None).limit(200))  # noqa: E711
                  if p.id not in joined and p.first_name]
        if people:
            db.add(CampaignMember(person_id=rnd.choice(people).id, campaign_id=campaign.id,
                                  status="registered"))
