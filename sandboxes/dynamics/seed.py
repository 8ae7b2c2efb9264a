"""Demo data for the Dataverse sandbox: accounts with contacts and deals, leads, a marketing list.

Deterministic per seed. The hub demo (demo/seed.py) passes a few hub people that marketing in
the Dynamics business unit also has as leads, so both systems share some people from the start.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker

from sandboxes.dynamics.store import Environment
from sandboxes.salesforce.seed import ascii_slug, domain_for

SEED = 2027
#: lead `leadsourcecode` values (Advertisement, Partner, Trade Show, Web, Other)
LEAD_SOURCES = [1, 4, 7, 8, 10]


def seed_environment(
    env: Environment, shared: Sequence[Mapping[str, Any]] = (), *, seed: int = SEED
) -> dict[str, int]:
    """Fill ``env``; ``shared`` are hub people (hub field names) also held here as leads."""
    fake = Faker(["en_US", "en_GB", "fr_FR"])
    fake.seed_instance(seed)
    rnd = random.Random(seed)
    counts = {"accounts": 0, "contacts": 0, "leads": 0, "list members": 0}
    contacts: list[str] = []
    accounts: list[str] = []
    for _ in range(5):
        name = fake.unique.company()
        domain = domain_for(name)
        account = env.create("account", {
            "name": name,
            "websiteurl": f"https://www.{domain}",
            "numberofemployees": rnd.choice([60, 300, 2500]),
            "address1_country": rnd.choice(["United States", "France", "United Kingdom"]),
        })
        counts["accounts"] += 1
        accounts.append(account)
        for _ in range(2):
            first, last = fake.first_name(), fake.last_name()
            contacts.append(env.create("contact", {
                "firstname": first,
                "lastname": last,
                "emailaddress1": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}",
                "jobtitle": fake.job()[:100],
                "telephone1": f"+1 {rnd.randint(201, 989)} 555 {rnd.randint(1000, 9999)}",
                "parentcustomerid_account@odata.bind": f"/accounts({account})",
            }))
            counts["contacts"] += 1
    counts.update(_seed_deals(env, rnd, accounts, contacts))
    leads: list[str] = []
    for person in shared:
        leads.append(env.create("lead", {
            "emailaddress1": str(person["email"]),
            "firstname": person.get("first_name"),
            "lastname": person.get("last_name") or "Unknown",
            "companyname": (person.get("company") or "")[:100] or None,
            "subject": "Imported from a trade show list",
            "leadsourcecode": 7,
        }))
    for _ in range(15):
        first, last, company = fake.first_name(), fake.last_name(), fake.company()
        leads.append(env.create("lead", {
            "emailaddress1": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain_for(company)}",
            "firstname": first,
            "lastname": last,
            "companyname": company[:100],
            "jobtitle": fake.job()[:100],
            "subject": f"Interested in {rnd.choice(['pricing', 'a demo', 'the API'])}",
            "leadsourcecode": rnd.choice(LEAD_SOURCES),
        }))
    counts["leads"] = len(leads)
    marketing_list = env.create("list", {
        "listname": "EMEA newsletter",
        "createdfromcode": 2,  # contacts
        "type": False,  # static
    })
    for contact in rnd.sample(contacts, 4):
        env.add_list_member(marketing_list, contact)
        counts["list members"] += 1
    return counts


def _seed_deals(
    env: Environment, rnd: random.Random, accounts: list[str], contacts: list[str]
) -> dict[str, int]:
    """A deal on each of three accounts: the first contact on the deal, the second connected.

    Opened weeks or months ago (``overriddencreatedon``, as a migration sets it); one won, so
    its actual value and close date differ from the estimate.
    """
    role = env.create("connectionrole", {"name": "Influencer", "category": 1000})  # Stakeholder
    now = datetime.now(UTC).replace(microsecond=0)
    counts = {"opportunities": 0, "stakeholders": 0}
    for index, account in enumerate(accounts[:3]):
        opened = now - timedelta(days=rnd.randint(45, 150), hours=rnd.randint(0, 23))
        estimate = rnd.choice([18_000, 60_000, 150_000])
        values: dict[str, Any] = {
            "name": f"{rnd.choice(['Platform', 'Expansion', 'Pilot'])} deal ({index + 1})",
            "estimatedvalue": estimate,
            "estimatedclosedate": (now + timedelta(days=rnd.randint(10, 90))).date().isoformat(),
            "overriddencreatedon": opened.isoformat().replace("+00:00", "Z"),
            "parentaccountid@odata.bind": f"/accounts({account})",
            "parentcontactid@odata.bind": f"/contacts({contacts[2 * index]})",
        }
        if index == 0:  # won: the close dialog's actual revenue and date
            closed = opened + timedelta(days=rnd.randint(20, 40))
            values.update(statecode=1, statuscode=3, actualvalue=estimate - 2_000,
                          actualclosedate=closed.date().isoformat())
        opportunity = env.create("opportunity", values)
        env.create("connection", {
            "record1id_opportunity@odata.bind": f"/opportunities({opportunity})",
            "record2id_contact@odata.bind": f"/contacts({contacts[2 * index + 1]})",
            "record2roleid@odata.bind": f"/connectionroles({role})",
        })
        counts["opportunities"] += 1
        counts["stakeholders"] += 1
    return counts
