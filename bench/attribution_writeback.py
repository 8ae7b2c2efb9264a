"""Attribution written back to Salesforce: CampaignInfluence write calls per push cycle.

```
.venv/bin/python -m bench.attribution_writeback [--scale 1.0] [--page-size N] [--change 0.01]
    [--json]
```

At ``--scale 1`` the hub holds 560 open opportunities, each with two contacts (contact roles,
one primary) who touched three campaigns each (of 50) before the deal was created: about
20,000 ``campaign_influence`` rows over the nine shipped models. The same contacts, campaigns,
opportunities and contact roles exist in an in-process Salesforce sandbox, linked to the hub
records as the shipped account/contact/campaign/opportunity mappings' syncs leave them, and
the org has one Campaign Influence model per model of ``mappings/attribution.yaml``.

Then: ``attribution.engine.run`` fills ``campaign_influence``; one ``run_mapping`` cycle of
the shipped ``salesforce-campaign-influence`` mapping (the real connector; ``--page-size``
overrides the file's ``page_size``) writes every row; ``--change`` of the touches move in time
and attribution runs again; a second cycle writes what changed; an idle cycle writes nothing.
Per cycle it prints the rows written, the write calls (sObject Collections calls and Bulk API
2.0 job calls, counted on the client side), the Bulk jobs, ⌈rows/200⌉ (the goal) and the ratio.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, bindparam, func, insert, select, update

from attribution.config import AttributionSettings
from attribution.engine import run as run_attribution
from attribution.engine import settings_in
from bench.common import CallLog, counting_requests, kind_of, sandbox_context
from bench.salesforce_push import endpoint_of
from core import db
from core.models import (
    Campaign,
    CampaignInfluence,
    Link,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)
from core.sequence import reserve
from jobs.engine import SyncContext, run_mapping
from sandboxes.salesforce import influence
from sandboxes.salesforce.sandbox import SalesforceSandbox

REPO = Path(__file__).resolve().parent.parent
MAPPING = "salesforce-campaign-influence"
CAMPAIGNS = 50
CONTACTS_PER_DEAL = 2
TOUCHES_PER_CONTACT = 3
#: Deals at scale 1: about 36 influence rows each over the nine shipped models.
DEALS = 560
KINDS = ("form_fill", "webinar_attended", "ad_click", "email_click", "event")
#: Collections calls take at most this many records; the issue's goal is ⌈rows/200⌉ calls.
COLLECTION_SIZE = 200


@dataclass
class Cycle:
    """What one push cycle of the campaign influence mapping wrote and what it cost."""

    name: str
    rows: int
    created: int
    updated: int
    deleted: int
    failed: int
    collections_calls: int
    bulk_calls: int
    bulk_jobs: int
    other_calls: int
    api_calls: int  # what the connector counted (the run's "API calls")
    seconds: float
    by_endpoint: dict[str, int]

    @property
    def write_calls(self) -> int:
        """Collections calls plus every Bulk job call (create, upload, close)."""
        return self.collections_calls + self.bulk_calls

    @property
    def goal(self) -> int:
        """⌈rows/200⌉: one full Collections call per 200 rows written."""
        return math.ceil(self.rows / COLLECTION_SIZE)

    def figures(self) -> dict[str, Any]:
        """Every figure, the derived ones included (for --json and the table)."""
        ratio = round(self.write_calls / self.goal, 3) if self.goal else None
        return {**asdict(self), "write_calls": self.write_calls, "goal": self.goal,
                "ratio": ratio, "bulk_used": self.bulk_jobs > 0}


# -- seeding ----------------------------------------------------------------------------------


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]], now: datetime) -> None:
    """Hub rows with change_seqs reserved as the ORM numbers them."""
    with db.session(engine) as session:
        for seq, row in zip(reserve(session, len(rows)), rows, strict=True):
            row.update(change_seq=seq, created_at=now, updated_at=now)
        session.execute(insert(model.__table__), rows)


def _link(hub_object: str, hub_id: str, remote_object: str, remote_id: str, mapping: str,
          now: datetime) -> dict[str, Any]:
    return {"hub_object": hub_object, "hub_id": hub_id, "connection": "salesforce",
            "remote_object": remote_object, "remote_id": remote_id, "mapping": mapping,
            "snapshot": {}, "held": {}, "synced_at": now}


def seed(engine: Engine, sandbox: SalesforceSandbox, deals: int, now: datetime,
         seed_value: int = 7) -> None:
    """The same records in the org and in the hub, linked as the shipped mappings link them."""
    rng = random.Random(seed_value)
    org = sandbox.org
    links: list[dict[str, Any]] = []
    campaigns, people, opportunities, roles, touches = [], [], [], [], []
    close = (now + timedelta(days=60)).date()
    with sandbox.state.org_lock:
        for c in range(CAMPAIGNS):
            remote = org.insert("Campaign", {"Name": f"Campaign {c}"})
            campaigns.append({"id": f"c{c}", "name": f"Campaign {c}", "attributes": {}})
            links.append(_link("campaign", f"c{c}", "Campaign", remote, "salesforce-campaign",
                               now))
        for d in range(deals):
            deal_remote = org.insert("Opportunity", {
                "Name": f"Deal {d}", "StageName": "Prospecting", "Amount": 10_000 + d,
                "CloseDate": close.isoformat()})
            created = now - timedelta(days=30 + rng.randrange(60))
            opportunities.append({"id": f"d{d}", "name": f"Deal {d}", "amount": 10_000.0 + d,
                                  "created_on": created, "is_closed": False, "is_won": False,
                                  "close_date": close, "stage": "Prospecting"})
            links.append(_link("opportunity", f"d{d}", "Opportunity", deal_remote,
                               "salesforce-opportunity", now))
            for k in range(CONTACTS_PER_DEAL):
                person = f"p{d}-{k}"
                email = f"{person}@example.com"
                contact = org.insert("Contact", {"LastName": f"Bench {person}", "Email": email})
                org.insert("OpportunityContactRole", {
                    "OpportunityId": deal_remote, "ContactId": contact, "IsPrimary": k == 0})
                people.append({"id": person, "email": email, "last_name": f"Bench {person}",
                               "unsubscribed": False, "attributes": {}})
                roles.append({"id": f"r{d}-{k}", "opportunity_id": f"d{d}", "person_id": person,
                              "is_primary": k == 0, "role": None})
                links.append(_link("person", person, "Contact", contact, "salesforce-contact",
                                   now))
                for t, campaign in enumerate(rng.sample(range(CAMPAIGNS), TOUCHES_PER_CONTACT)):
                    touches.append({
                        "id": f"t{d}-{k}-{t}", "person_id": person,
                        "occurred_at": created - timedelta(days=1 + rng.random() * 200),
                        "touch_type": rng.choice(KINDS), "detail": {},
                        "campaign_id": f"c{campaign}", "origin": "import"})
    _insert(engine, Campaign, campaigns, now)
    _insert(engine, Person, people, now)
    _insert(engine, Opportunity, opportunities, now)
    _insert(engine, OpportunityContactRole, roles, now)
    _insert(engine, Touch, touches, now)
    with engine.begin() as connection:
        connection.execute(insert(Link.__table__), links)  # type: ignore[attr-defined]


def create_models(sandbox: SalesforceSandbox, settings: AttributionSettings) -> None:
    """One locked custom Campaign Influence model per attribution model, as an admin adds them."""
    org = sandbox.org
    with sandbox.state.org_lock:
        for model in settings.models:
            influence.create_model(org, {"DeveloperName": model.name, "MasterLabel": model.name,
                                         "IsModelLocked": True}, user_id=org.default_owner_id)


def change_touches(engine: Engine, share: float, now: datetime, seed_value: int = 11) -> int:
    """Move ``share`` of the touches by up to a week, with fresh change_seqs (as a sync would)."""
    rng = random.Random(seed_value)
    table = Touch.__table__  # type: ignore[attr-defined]
    with db.session(engine) as session:
        ids = sorted(session.execute(select(table.c.id, table.c.occurred_at)).all())
        picked = rng.sample(ids, max(1, int(len(ids) * share)))
        rows = [{"row_id": touch_id, "occurred_at": when - timedelta(days=rng.uniform(-7, 7)),
                 "change_seq": seq, "updated_at": now}
                for (touch_id, when), seq in zip(picked, reserve(session, len(picked)),
                                                 strict=True)]
        session.execute(update(table).where(table.c.id == bindparam("row_id")), rows)
    return len(rows)


# -- cycles -------------------------------------------------------------------------------------


def _mapping_folder(folder: Path, page_size: int | None) -> Path:
    """The shipped mapping files, the influence mapping's page_size overridden when asked."""
    mappings = folder / "mappings"
    mappings.mkdir()
    for path in (REPO / "mappings").glob("*.yaml"):
        shutil.copyfile(path, mappings / path.name)
    if page_size is not None:
        path = mappings / f"{MAPPING}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["page_size"] = page_size
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return mappings


def push_cycle(name: str, ctx: SyncContext, log: CallLog, sandbox: SalesforceSandbox) -> Cycle:
    """One real cycle of the campaign influence mapping, its calls split by kind."""
    bulk = sandbox.state.bulk
    assert bulk is not None
    jobs_before = len(bulk.list("ingest"))
    before = log.snapshot()
    started = time.perf_counter()
    report = run_mapping(ctx, MAPPING)
    seconds = time.perf_counter() - started
    calls = log.snapshot() - before
    writes = Counter({e: n for e, n in calls.items() if kind_of(e) == "write"})
    collections = sum(n for e, n in writes.items() if "/composite/sobjects" in e)
    bulk_calls = sum(n for e, n in writes.items() if "/jobs/ingest" in e)
    other = sum(n for e, n in calls.items() if kind_of(e) != "auth") - collections - bulk_calls
    written = report.created_remote + report.updated_remote + report.deleted
    return Cycle(name, written, report.created_remote, report.updated_remote,
                 report.deleted, report.failed, collections, bulk_calls,
                 len(bulk.list("ingest")) - jobs_before, other, report.api_calls,
                 round(seconds, 2), dict(sorted(calls.items())))


def _live(engine: Engine, model: Any) -> int:
    """Rows not deleted (a credit that went away leaves its row marked deleted)."""
    with db.session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model).where(
            model.deleted_at.is_(None))).scalar_one())


def measure(scale: float, page_size: int | None, change: float) -> dict[str, Any]:
    """Seed, attribute, push three times; every figure."""
    now = datetime.now(UTC).replace(microsecond=0)
    deals = max(1, round(DEALS * scale))
    with tempfile.TemporaryDirectory() as work, SalesforceSandbox() as sandbox:
        folder = Path(work)
        engine = db.make_engine(f"sqlite:///{folder / 'hub.db'}")
        db.init_db(engine)
        mappings = _mapping_folder(folder, page_size)
        settings = settings_in(mappings)
        started = time.perf_counter()
        seed(engine, sandbox, deals, now)
        create_models(sandbox, settings)
        seeded = time.perf_counter() - started
        full = run_attribution(engine, settings, full=True)
        rows = _live(engine, CampaignInfluence)
        ctx = sandbox_context(engine, mappings, sandbox)
        log = CallLog(endpoint_of)
        with counting_requests(log):
            first = push_cycle("first", ctx, log, sandbox)
            changed = change_touches(engine, change, now)
            incremental = run_attribution(engine, settings)
            second = push_cycle("after change", ctx, log, sandbox)
            idle = push_cycle("idle", ctx, log, sandbox)
        with sandbox.state.org_lock:
            in_org = sum(1 for _ in sandbox.org.rows("CampaignInfluence"))
        figures = {
            "scale": scale, "opportunities": deals, "touches": _live(engine, Touch),
            "models": len(settings.models), "page_size": ctx.mappings[MAPPING].page_size,
            "bulk_threshold": 2000, "seed_seconds": round(seeded, 1),
            "attribution_seconds": round(full.seconds, 2),
            "campaign_influence_rows": rows,
            "campaign_influence_rows_after_change": _live(engine, CampaignInfluence),
            "campaign_influence_in_org": in_org, "touches_changed": changed,
            "incremental_opportunities": incremental.opportunities,
            "cycles": [c.figures() for c in (first, second, idle)],
        }
        engine.dispose()
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    """The figures, then one line per cycle and its calls by endpoint."""
    for key, value in figures.items():
        if key != "cycles":
            print(f"{key:36} {value}")
    print()
    print(f"{'cycle':14} {'rows':>7} {'created':>8} {'updated':>8} {'deleted':>8} {'failed':>7} "
          f"{'collections':>12} {'bulk calls':>11} {'bulk jobs':>10} {'write calls':>12} "
          f"{'⌈rows/200⌉':>11} {'ratio':>6} {'other':>6} {'seconds':>8}  goal")
    for c in figures["cycles"]:
        ratio = "-" if c["ratio"] is None else f"{c['ratio']:.2f}"
        met = c["write_calls"] <= c["goal"]
        print(f"{c['name']:14} {c['rows']:>7,} {c['created']:>8,} {c['updated']:>8,} "
              f"{c['deleted']:>8,} {c['failed']:>7,} {c['collections_calls']:>12,} "
              f"{c['bulk_calls']:>11,} {c['bulk_jobs']:>10,} {c['write_calls']:>12,} "
              f"{c['goal']:>11,} {ratio:>6} {c['other_calls']:>6,} {c['seconds']:>8.2f}  "
              f"{'met' if met else 'MISSED'}")
    print()
    for c in figures["cycles"]:
        calls = ", ".join(f"{endpoint} ×{n}" for endpoint, n in c["by_endpoint"].items())
        print(f"{c['name']:14} {calls or 'no calls'}")


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure, print; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 = 560 opportunities, about 20,000 influence rows")
    parser.add_argument("--page-size", type=int,
                        help="the influence mapping's page_size (default: the shipped file's)")
    parser.add_argument("--change", type=float, default=0.01, help="share of touches moved")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    figures = measure(args.scale, args.page_size, args.change)
    if args.json:
        print(json.dumps(figures))
    else:
        print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
