"""The demo's Zoom account: three webinars, two of them over with their attendance report.

Registrants are partly people marketing already knows (so their memberships and touches land
on people the CRMs hold) and partly new faces (who become hub people from what they typed).
One attendee drops out and rejoins (two report rows, one attendance); one typed an address
into the company box, longer than the hub holds, which the Errors page explains.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from faker import Faker

from core.clock import utcnow
from sandboxes.salesforce.seed import ascii_slug

if TYPE_CHECKING:
    from sandboxes.zoom.store import Account

#: (topic, start, minutes, whether it is over): one upcoming, two ended with a report.
WEBINARS = (
    ("Attribution Without Tears: Live Q&A", datetime(2026, 11, 5, 16, 0, tzinfo=UTC), 60, True),
    ("Lifecycle Stages Sales Accepts", datetime(2026, 11, 19, 16, 0, tzinfo=UTC), 45, True),
    ("Scoring in the Open", datetime(2026, 12, 17, 16, 0, tzinfo=UTC), 60, False),
)
#: Someone who pasted a whole address into the company box (longer than the hub's 255).
LONG_COMPANY = (
    "Shenzhen Advanced Manufacturing and Industrial Automation Technology Co., Ltd., Building 7, "
    "Phase 2, Nanshan Science and Technology Park, Nanshan District, Shenzhen, Guangdong "
    "Province, People's Republic of China, Attn: Procurement and Strategic Sourcing Department"
)


def new_registrant(fake: Faker) -> dict[str, Any]:
    """Someone the hub does not know yet, as a Zoom registration form has them."""
    first, last = fake.first_name(), fake.last_name()
    return {"email": f"{ascii_slug(first)}.{ascii_slug(last)}@{fake.free_email_domain()}",
            "first_name": first, "last_name": last, "org": fake.company(),
            "job_title": fake.job()[:60]}


def seed_zoom(account: Account, known: Sequence[dict[str, Any]], rnd: random.Random,
              fake: Faker, *, on_deals: Sequence[dict[str, Any]] = ()) -> dict[str, int]:
    """Schedule the webinars, register people, and end the past ones with their report.

    ``on_deals``: people on open deals; a few register for each past webinar and come, so
    their attendance is credited on those deals.
    """
    counts = {"zoom_webinars": 0, "zoom_registrants": 0, "zoom_joins": 0}
    now = utcnow()
    for index, (topic, start, minutes, over) in enumerate(WEBINARS):
        webinar = account.create_webinar({"topic": topic, "start_time": start.isoformat(),
                                          "duration": minutes, "agenda": f"Demo webinar {index}"})
        counts["zoom_webinars"] += 1
        people = [
            {"email": p["email"], "first_name": p["first_name"], "last_name": p["last_name"],
             "org": p.get("company") or ""}
            for p in rnd.sample(list(known), 9)
        ] + [new_registrant(fake) for _ in range(5)]
        deal_people = [
            {"email": p["email"], "first_name": p["first_name"] or "", "last_name":
             p["last_name"] or "", "org": p.get("company") or ""}
            for p in rnd.sample(list(on_deals), min(3, len(on_deals))) if p["first_name"]
        ] if over else []
        people += [p for p in deal_people if p["email"] not in {q["email"] for q in people}]
        if index == 0:
            people.append({"email": "li.wei@example.cn", "first_name": "Li", "last_name": "Wei",
                           "org": LONG_COMPANY})
        for person in people:
            # Before the webinar, and never in the future: a registration time later than the
            # activity job's real ones would hide those from the person read's cursor.
            registered = min(start - timedelta(days=rnd.randint(2, 20), hours=rnd.randint(0, 12)),
                             now - timedelta(hours=rnd.randint(1, 72)))
            account.register(webinar["id"], person,
                             create_time=registered.isoformat())
            counts["zoom_registrants"] += 1
        if not over:
            continue
        came = rnd.sample(people, max(1, round(len(people) * 0.6)))
        came += [p for p in deal_people if p not in came]
        joins: list[dict[str, Any]] = []
        for person in came:
            joined = start + timedelta(minutes=rnd.randint(0, 10), seconds=rnd.randint(0, 59))
            left = joined + timedelta(minutes=rnd.randint(15, minutes))
            joins.append({"email": person["email"], "join_time": joined.isoformat(),
                          "leave_time": left.isoformat()})
        # The first dropped out after ten minutes and came back: two rows, one attendee.
        first = came[0]
        joins[0]["leave_time"] = (start + timedelta(minutes=12)).isoformat()
        joins[0]["join_time"] = (start + timedelta(minutes=2)).isoformat()
        back = start + timedelta(minutes=25)
        joins.append({"email": first["email"], "join_time": back.isoformat(),
                      "leave_time": (back + timedelta(minutes=20)).isoformat()})
        account.end_webinar(webinar["id"], joins)
        counts["zoom_joins"] += len(joins)
    return counts
