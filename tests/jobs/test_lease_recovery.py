"""One cycle per mapping, ever, and a crashed one recovers in seconds.

The heartbeat keeps a lease through a call slower than the lease itself; a holder that loses
its lease stops before it writes again; a holder killed with SIGKILL is taken over at once on
its own host and after its heartbeat stops elsewhere; the run it left is closed as crashed;
``syncline sync`` says who holds a mapping and exits 1.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore
from core.clock import utcnow
from core.db import make_engine
from core.hubschema import HubSchema
from core.models import Person, SyncLease, SyncRun
from jobs import lease
from jobs.engine import SyncContext, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from tests.jobs.harness import mapping
from tests.processes import Installation, wait_until

LEADS = 4
#: The lease TTL of the other-host test: longer than a CLI process takes to start.
TTL = 10


def _store(path: Path) -> Path:
    store = MemoryStore(path)
    for i in range(LEADS):
        store.create("Lead", {"Email": f"lead{i}@acme.com", "LastName": f"L{i}", "Company": "A"})
    return path


def _context(engine: Engine, tmp_path: Path, latency_ms: int) -> SyncContext:
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    (folder / "crm-person.yaml").write_text(yaml.safe_dump(mapping(), sort_keys=False))
    schema = HubSchema.standard()
    config = {"type": "memory", "path": str(_store(tmp_path / "crm.json")),
              "faults": {"latency_ms": latency_ms}}
    return SyncContext(engine, load_mappings(folder, hub_schema=schema), schema,
                       lambda name: MemoryConnector(name, config))


def _in_thread(ctx: SyncContext) -> tuple[threading.Thread, list[RunReport]]:
    reports: list[RunReport] = []
    thread = threading.Thread(target=lambda: reports.append(run_mapping(ctx, "crm-person")))
    thread.start()
    return thread, reports


def _lease_row(engine: Engine) -> SyncLease | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(SyncLease, "crm-person")


def test_a_heartbeat_keeps_the_lease_through_a_call_slower_than_the_lease(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lease.TTL_ENV, "2")
    ctx = _context(engine, tmp_path, latency_ms=3500)  # each call outlasts the 2 s lease
    thread, reports = _in_thread(ctx)
    try:
        row = wait_until(lambda: (r := _lease_row(engine)) and r.run_id and r, 10, "the lease")
        time.sleep(3)  # past the TTL, still inside the first (3.5 s) call
        claim = lease.acquire(engine, "crm-person", lease.new_holder())
        assert not claim, "a live holder's lease is never taken over"
        assert claim.other is not None and claim.other.run_id == row.run_id
        renewed = _lease_row(engine)
        assert renewed is not None and renewed.heartbeat_at > row.heartbeat_at
        assert renewed.expires_at > utcnow()
    finally:
        thread.join(timeout=60)
    [report] = reports
    assert report.status == "success" and report.created_hub == LEADS
    with Session(engine) as session:
        assert [r.status for r in session.exec(select(SyncRun))] == ["success"]
    assert _lease_row(engine) is None


def test_a_holder_that_lost_its_lease_stops_before_it_writes_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lease.TTL_ENV, "2")
    ctx = _context(engine, tmp_path, latency_ms=2500)
    thread, reports = _in_thread(ctx)
    try:
        wait_until(lambda: (r := _lease_row(engine)) and r.run_id, 10, "the lease")
        with Session(engine) as session:  # another process took it (say we had frozen)
            session.exec(update(SyncLease).values(holder="elsewhere:1:thief"))  # type: ignore[call-overload]
            session.commit()
    finally:
        thread.join(timeout=60)
    [report] = reports
    assert report.status == "abandoned", report
    assert "taken over" in (report.message or "")
    with Session(engine) as session:
        assert list(session.exec(select(Person))) == [], "the page read before was not committed"
    leads = MemoryStore(tmp_path / "crm.json").all("Lead")
    assert all(not lead.get("Syncline_Id__c") for lead in leads), "nothing was written"
    assert _lease_row(engine).holder == "elsewhere:1:thief", "the new holder keeps its lease"


def test_reap_closes_runs_of_dead_holders_and_leaves_live_ones(engine: Engine) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_holder = f"{lease.this_host()}:{int(dead.stdout)}:deadbeef"
    live_holder = lease.new_holder()
    assert lease.acquire(engine, "dead-one", dead_holder)
    assert lease.acquire(engine, "live-one", live_holder)
    with Session(engine) as session:
        runs = [
            SyncRun(mapping="dead-one", started_at=utcnow(), holder=dead_holder),
            SyncRun(mapping="live-one", started_at=utcnow(), holder=live_holder),
            # A holder whose lease is gone (released, or taken by someone who moved on).
            SyncRun(mapping="gone-one", started_at=utcnow(), holder="h:1:x"),
        ]
        session.add_all(runs)
        session.commit()
        ids = [r.id for r in runs]

    closed = lease.reap(engine)

    assert sorted(closed) == sorted([ids[0], ids[2]])
    with Session(engine) as session:
        status = {r.mapping: r for r in session.exec(select(SyncRun))}
    assert status["live-one"].status == "running"
    assert status["dead-one"].status == "crashed"
    assert f"process {int(dead.stdout)} on this host is not running" in status["dead-one"].message
    assert "Taken over at" in status["dead-one"].message
    assert status["gone-one"].status == "crashed"
    assert lease.holder_of(engine, "dead-one") is None, "its lease is free again"
    assert lease.holder_of(engine, "live-one").holder == live_holder
    lease.release(engine, "live-one", live_holder)


# -- real processes, killed -------------------------------------------------------------------


def _installation(tmp_path: Path, **env: str) -> Installation:
    store = _store(tmp_path / "crm.json")
    inst = Installation(
        tmp_path,
        f"sqlite:///{tmp_path / 'hub.db'}",
        {"crm": {"type": "memory", "path": str(store), "faults": {"latency_ms": 1500}}},
        {"crm-person": mapping()},
        env=env,
    )
    assert inst.run("init").returncode == 0
    return inst


def _kill_mid_cycle(inst: Installation, **env: str) -> tuple[int, Any]:
    """SIGKILL a ``syncline sync`` once its run is open; the dead run's id and the kill time."""
    victim = inst.start("sync", **env)
    try:
        [(run_id,)] = wait_until(
            lambda: inst.query("SELECT id FROM sync_run WHERE status = 'running'"), 30,
            "the victim's run",
        )
        victim.signal(signal.SIGKILL)
        killed_at = utcnow()
        victim.wait(timeout=10)
    finally:
        victim.stop()
    return int(run_id), killed_at


def _takeover_seconds(inst: Installation, dead_run: int, killed_at: Any) -> float:
    """From the kill to the start of the run that took the mapping over."""
    [(started,)] = inst.query(
        "SELECT started_at FROM sync_run WHERE id > :id ORDER BY id LIMIT 1", id=dead_run)
    if isinstance(started, str):
        from datetime import datetime

        started = datetime.fromisoformat(started)
    if started.tzinfo is None:
        started = started.replace(tzinfo=killed_at.tzinfo)
    return (started - killed_at).total_seconds()


def claim_holder(engine: Engine) -> str:
    holder = lease.holder_of(engine, "crm-person")
    assert holder is not None
    return holder.holder


def _report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    [line] = [x for x in result.stdout.splitlines() if x.startswith("{")]
    return json.loads(line)


def test_kill_9_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    inst = _installation(tmp_path)
    dead_run, _ = _kill_mid_cycle(inst)

    # The first attempt after the kill takes the mapping: no lease to wait out.
    engine = make_engine(inst.database_url)
    started = time.monotonic()
    claim = lease.acquire(engine, "crm-person", lease.new_holder())
    took = time.monotonic() - started
    assert claim and claim.other is not None and claim.other.run_id == dead_run
    assert "on this host is not running" in (claim.reason or "")
    print(f"same-host takeover after kill -9: {took * 1000:.0f} ms (one acquire)")
    lease.release(engine, "crm-person", claim_holder(engine))
    engine.dispose()

    result = inst.run("sync", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    assert _report(result)["status"] == "success"
    [(status, message, finished)] = inst.query(
        "SELECT status, message, finished_at FROM sync_run WHERE id = :id", id=dead_run)
    assert status == "crashed" and finished is not None
    assert "on this host is not running" in message and "Taken over at" in message
    emails = [r[0] for r in inst.query("SELECT email FROM person")]
    assert sorted(emails) == sorted(f"lead{i}@acme.com" for i in range(LEADS))


def test_kill_9_elsewhere_is_taken_over_when_its_heartbeat_stops(tmp_path: Path) -> None:
    inst = _installation(tmp_path, SYNCLINE_LEASE_TTL_SECONDS=str(TTL))
    (tmp_path / "people.csv").write_text("email,last_name\nwaiting@acme.com,W\n")
    assert inst.run("import", "people", str(tmp_path / "people.csv")).returncode == 0
    dead_run, killed_at = _kill_mid_cycle(inst, SYNCLINE_HOST_ID="other-host")

    refused = inst.run("sync", "--json")

    assert refused.returncode == 1, "a held mapping is not a success"
    report = _report(refused)
    assert report["status"] == "locked"
    message = report["message"]
    assert "host 'other-host' pid" in message and f"(run {dead_run})" in message
    assert " since " in message and "lease expires" in message
    assert report["backlog"] == 1, "the person waiting to be pushed"

    waited = inst.run("sync", "--json", "--wait", str(3 * TTL))
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert _report(waited)["status"] == "success"
    took = _takeover_seconds(inst, dead_run, killed_at)
    assert took >= TTL - 2, "a holder elsewhere is only judged by its heartbeat"
    print(f"other-host takeover after kill -9: {took:.1f} s (lease TTL {TTL} s)")
    [(status, message)] = inst.query(
        "SELECT status, message FROM sync_run WHERE id = :id", id=dead_run)
    assert status == "crashed" and "no heartbeat since" in message
    assert inst.query("SELECT count(*) FROM sync_lease") == [(0,)]
