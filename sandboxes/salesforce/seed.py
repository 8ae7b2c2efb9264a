"""Demo data for the Salesforce sandbox: an org that looks lived in, deterministic per seed.

Accounts with contacts and deals (opened months ago, with contact roles), leads in every
status, a campaign sales ran, a lead already converted, partner referrals and two leads for one
person that predate the duplicate rule. The hub demo (demo/seed.py) passes the people it also
holds, so both sides share some of them, typed the way sales types them (in capitals).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from faker import Faker

from sandboxes.salesforce.audit import set_audit_dates
from sandboxes.salesforce.org import Org

SEED = 2026
INDUSTRIES = ["Technology", "Banking", "Healthcare", "Retail", "Manufacturing", "Media"]
SOURCES = ["Web", "Phone Inquiry", "Purchased List", "Other"]
STATUSES = ["Open - Not Contacted", "Open - Not Contacted", "Working - Contacted"]
STAGES = ["Prospecting", "Qualification", "Proposal/Price Quote", "Closed Won", "Closed Lost"]
ROLES = ["Evaluator", "Technical Buyer", "Economic Buyer", "Influencer"]


def seed_org(
    org: Org, shared: Sequence[Mapping[str, Any]] = (), *, seed: int = SEED
) -> dict[str, int]:
    """Fill ``org``; ``shared`` are hub people (hub field names) sales also has as Leads."""
    fake = Faker(["en_US", "en_GB", "de_DE"])
    fake.seed_instance(seed)
    rnd = random.Random(seed)
    counts = {"accounts": 0, "contacts": 0, "leads": 0, "campaign members": 0, "opportunities": 0}
    accounts: list[str] = []
    contacts: list[str] = []
    for _ in range(8):
        name = fake.unique.company()
        domain = domain_for(name)
        account = org.insert("Account", {
            "Name": name,
            "Website": f"https://www.{domain}",
            "Industry": rnd.choice(INDUSTRIES),
            "BillingCountry": rnd.choice(["United States", "United Kingdom", "Germany"]),
            "NumberOfEmployees": rnd.choice([40, 250, 1200, 8000]),
        })
        accounts.append(account)
        for _ in range(2):
            first, last = fake.first_name(), fake.last_name()
            contacts.append(org.insert("Contact", {
                "AccountId": account,
                "FirstName": first,
                "LastName": last,
                "Email": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}",
                "Title": fake.job()[:128],
                "Phone": _phone(rnd),
                "LeadSource": rnd.choice(SOURCES),
            }))
        counts["accounts"] += 1
        counts["contacts"] += 2
    for index, account in enumerate(accounts[:5]):
        stage = STAGES[index % len(STAGES)]
        # Opened weeks or months ago (audit fields, as a migration sets them); a closed deal
        # closed in the past, an open one is expected to close ahead.
        opened = org.now() - timedelta(days=rnd.randint(45, 150), hours=rnd.randint(0, 23))
        closes = (opened.date() + timedelta(days=rnd.randint(20, 40)) if stage.startswith("Closed")
                  else org.today() + timedelta(days=rnd.randint(10, 90)))
        opportunity = org.insert("Opportunity", {
            "Name": f"{fake.bs().title()[:60]} ({index + 1})",
            "AccountId": account,
            "StageName": stage,
            "Amount": rnd.choice([12_000, 48_000, 95_000, 240_000]),
            "CloseDate": closes.isoformat(),
        })
        set_audit_dates(org, "Opportunity", opportunity, {"CreatedDate": opened})
        # The account's two contacts play a role: the first decides, and is the primary.
        for order, role in enumerate(("Decision Maker", rnd.choice(ROLES))):
            org.insert("OpportunityContactRole", {
                "OpportunityId": opportunity,
                "ContactId": contacts[2 * accounts.index(account) + order],
                "Role": role,
                "IsPrimary": order == 0,
            })
            counts["contact roles"] = counts.get("contact roles", 0) + 1
        counts["opportunities"] += 1

    leads: list[str] = []
    for person in shared:
        leads.append(org.insert("Lead", {
            "Email": str(person["email"]).upper(),
            "FirstName": person.get("first_name"),
            "LastName": person.get("last_name") or "Unknown",
            "Company": (person.get("company") or "Unknown")[:255],
            "Phone": person.get("phone"),
            "LeadSource": rnd.choice(SOURCES),
            "Status": "Working - Contacted",
        }))
    for _ in range(40):
        first, last, company = fake.first_name(), fake.last_name(), fake.company()
        leads.append(org.insert("Lead", {
            "Email": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain_for(company)}",
            "FirstName": first,
            "LastName": last,
            "Company": company,
            "Title": fake.job()[:128],
            "Phone": _phone(rnd),
            "LeadSource": rnd.choice(SOURCES),
            "Status": rnd.choice(STATUSES),
            "Industry": rnd.choice(INDUSTRIES),
        }))
    for _ in range(3):  # the partner team's leads: the lead mapping's pull_rule keeps them out
        leads.append(org.insert("Lead", {
            "Email": fake.unique.email(),
            "LastName": fake.last_name(),
            "Company": fake.company(),
            "LeadSource": "Partner Referral",
        }))
    # Two Leads for one person, entered before the duplicate rule was switched on: the hub
    # reports them (DUPLICATE_REMOTE_RECORD) instead of merging them silently.
    org.duplicate_rules_on = False
    try:
        for first in ("Dana", "Dana M."):
            leads.append(org.insert("Lead", {
                "Email": "dana.whitfield@northwind.example",
                "FirstName": first,
                "LastName": "Whitfield",
                "Company": "Northwind Traders",
                "Phone": "+1 206 555 0142",
            }))
    finally:
        org.duplicate_rules_on = True
    counts["leads"] = len(leads)

    # A campaign sales ran themselves: its members come into the hub with their statuses.
    campaign = org.insert("Campaign", {
        "Name": "Partner Roadshow 2026",
        "Type": "Seminar / Conference",
        "Status": "In Progress",
        "IsActive": True,
        "StartDate": date(2026, 10, 1).isoformat(),
        "EndDate": date(2026, 12, 15).isoformat(),
    })
    members = rnd.sample(leads[len(shared):len(shared) + 40], 6) + rnd.sample(contacts, 4)
    for member in members:
        key = "LeadId" if member.startswith("00Q") else "ContactId"
        org.insert("CampaignMember", {
            "CampaignId": campaign,
            key: member,
            "Status": rnd.choice(["Sent", "Responded"]),
        })
    counts["campaign members"] = len(members)

    # One lead sales already converted: the hub gets the Contact, never the read-only Lead.
    org.convert_lead(leads[len(shared) + 1])
    counts["converted leads"] = 1
    return counts


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only (ü → ue, ê → e): safe in an email address."""
    text = text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain if ch.isalnum()) or "someone"


def domain_for(company: str) -> str:
    """A made-up domain for a company name (``.example`` is reserved for such use)."""
    return (ascii_slug(company.split(",")[0].split(" ")[0]) or "example") + ".example"


def _phone(rnd: random.Random) -> str:
    return f"+1 {rnd.randint(201, 989)} 555 {rnd.randint(1000, 9999)}"
