"""Benchmark: a field row added to a mapping, backfilled over N linked Salesforce Leads.

``python -m bench.backfill --records 100000`` links N hub people to N Leads in the in-process
Salesforce sandbox (seeded directly: hub rows, Leads and links, as if an earlier sync had made
them), with the shipped lead mapping lacking its ``score → Score__c`` row. The row is then put
back and one real ``run_mapping`` cycle runs: its backfill sends Score__c to every linked Lead.
It prints the dry run's estimate, then the records written, API calls, Bulk jobs (the goal is
⌈N/10,000⌉), seconds, and whether every Lead got its score.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import INSERT_CHUNK, REPO, sandbox_context, seed_people, write_mapping
from core import clock, db
from core.hubschema import HubSchema
from core.models import Link, Person, SyncState
from jobs.backfill import scope
from jobs.backfill.phases import PAGE
from jobs.engine import run_mapping
from mappings.loader import load_mappings
from sandboxes.salesforce.sandbox import SalesforceSandbox

MAPPING = "salesforce-lead"
SHIPPED = REPO / "mappings" / f"{MAPPING}.yaml"


def main() -> None:
    """Parse the options, seed, backfill, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000,
                        help="linked Leads (default 50,000: about a minute and a half)")
    parser.add_argument("--database", help="hub database URL (default: a temporary SQLite)")
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency per call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        url = args.database or f"sqlite:///{folder / 'hub.db'}"
        engine = db.make_engine(url)
        db.init_db(engine)
        with SalesforceSandbox() as sandbox:
            sandbox.faults.latency_ms = args.latency_ms
            run(engine, folder, sandbox, args.records)
        engine.dispose()


def run(engine: Engine, folder: Path, sandbox: SalesforceSandbox, records: int) -> None:
    """Seed N linked records, add the score row, run the cycle that backfills it; print."""
    started = time.perf_counter()
    seed_people(engine, records)
    scores = _seed_leads_and_links(engine, sandbox)
    mappings = folder / "mappings"
    mappings.mkdir()
    write_mapping(mappings, SHIPPED, "to_remote", 500)
    score_row = _take_row(mappings / SHIPPED.name, "score")
    _remember_mapping(engine, mappings)
    print(f"seeded {records:,} linked people and Leads in {time.perf_counter() - started:.1f} s")

    _put_row(mappings / SHIPPED.name, score_row)
    ctx = sandbox_context(engine, mappings, sandbox)
    plan = run_mapping(ctx, MAPPING, dry_run=True)
    print(f"dry run: {plan.backfill[0] if plan.backfill else 'no backfill planned'}")

    bulk = sandbox.state.bulk
    assert bulk is not None
    jobs_before = len(bulk.list("ingest"))
    started = time.perf_counter()
    report = run_mapping(ctx, MAPPING)
    seconds = time.perf_counter() - started
    jobs = len(bulk.list("ingest")) - jobs_before
    with sandbox.state.org_lock:
        got = {r["Syncline_Id__c"]: r.get("Score__c") for r in sandbox.org.rows("Lead")}
    right = sum(1 for hub_id, score in scores.items() if got.get(hub_id) == score)
    goal = math.ceil(records / PAGE)
    print(f"backfill: {report.status}; {report.backfill[0] if report.backfill else report.message}")
    print(f"  records written  {report.updated_remote:>10,}")
    print(f"  API calls        {report.api_calls:>10,}  (a call a record would be {records:,})")
    print(f"  Bulk jobs        {jobs:>10,}  (goal ≤ ⌈N/10,000⌉ = {goal}: "
          f"{'met' if jobs <= goal else 'NOT met'})")
    print(f"  seconds          {seconds:>10.1f}")
    print(f"  Leads with their score: {right:,} of {records:,}")
    idle = run_mapping(ctx, MAPPING)
    print(f"next cycle: {idle.updated_remote} written, {idle.api_calls} API call(s)")


def _seed_leads_and_links(engine: Engine, sandbox: SalesforceSandbox) -> dict[str, int]:
    """One Lead per hub person, carrying its hub id, and the link between them: hub id → score."""
    with Session(engine) as session:
        people = session.execute(select(Person.id, Person.email, Person.score)).all()
    now = clock.utcnow()
    links: list[dict[str, Any]] = []
    with sandbox.state.org_lock:
        for hub_id, email, _ in people:
            lead_id = sandbox.org.insert("Lead", {
                "LastName": "Bench", "Company": "Bench", "Email": email,
                "Syncline_Id__c": hub_id, "Phone": "+14155550100"})
            links.append({"hub_object": "person", "hub_id": hub_id, "connection": "salesforce",
                          "remote_object": "Lead", "remote_id": lead_id, "mapping": MAPPING,
                          "snapshot": {"Email": email}, "held": {}, "synced_at": now})
    table = Link.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, len(links), INSERT_CHUNK):
            connection.execute(insert(table), links[start:start + INSERT_CHUNK])
    return {hub_id: score for hub_id, _, score in people}


def _take_row(path: Path, hub_field: str) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    row = next(r for r in data["fields"] if r.get("hub") == hub_field)
    data["fields"].remove(row)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return dict(row)


def _put_row(path: Path, row: dict[str, Any]) -> None:
    data = yaml.safe_load(path.read_text())
    data["fields"].append(row)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _remember_mapping(engine: Engine, folder: Path) -> None:
    """What an earlier sync left: the mapping's fingerprints stored, the push cursor at the end."""
    schema = HubSchema.load(folder / "hub.yaml")
    mapping = load_mappings(folder, hub_schema=schema)[MAPPING]
    now = clock.utcnow()
    with Session(engine) as session:
        found = scope.due(session, mapping)
        assert found is not None and not found.fields, "a mapping never seen: stored as it is"
        scope.finish(session, found, now=now, run_id=None)
        last = session.execute(select(func.max(Person.change_seq))).scalar_one()
        session.add(SyncState(mapping=MAPPING, direction="to_remote", cursor=str(last),
                              updated_at=now))
        session.commit()
    with engine.begin() as connection:  # the people were synced before this run began
        connection.execute(update(Person.__table__).values(updated_at=now))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
