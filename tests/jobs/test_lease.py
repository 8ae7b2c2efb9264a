"""The per-mapping lease: one holder at a time, in this process and across processes."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore
from core.clock import utcnow
from core.db import make_engine
from core.hubschema import HubSchema
from core.models import Person, SyncLease, SyncRun
from jobs import lease
from jobs.engine import SyncContext, run_mapping
from mappings.loader import load_mappings
from tests.jobs.harness import mapping

EXPIRED = timedelta(seconds=-1)


def _holder(engine: Engine, name: str = "crm-person") -> str | None:
    with Session(engine) as session:
        row = session.get(SyncLease, name)
        return row.holder if row is not None else None


def test_one_holder_at_a_time_until_released(engine: Engine) -> None:
    assert lease.acquire(engine, "crm-person", "alpha")
    assert not lease.acquire(engine, "crm-person", "beta"), "held: the second holder is refused"
    assert lease.acquire(engine, "other-mapping", "beta"), "leases are per mapping"
    assert _holder(engine) == "alpha"

    lease.release(engine, "crm-person", "beta")  # not beta's to give back
    assert _holder(engine) == "alpha"
    assert not lease.acquire(engine, "crm-person", "beta")

    lease.release(engine, "crm-person", "alpha")
    assert _holder(engine) is None
    assert lease.acquire(engine, "crm-person", "beta")
    assert _holder(engine) == "beta"


def test_renew_extends_our_lease(engine: Engine) -> None:
    assert lease.acquire(engine, "crm-person", "alpha", ttl=timedelta(seconds=5))
    with Session(engine) as session:
        lease.renew(session, "crm-person", "alpha", ttl=timedelta(hours=1))
        session.commit()
    with Session(engine) as session:
        row = session.get(SyncLease, "crm-person")
        assert row is not None
        assert row.expires_at > utcnow() + timedelta(minutes=59)


def test_an_expired_lease_is_taken_over_and_the_old_holder_loses_it(engine: Engine) -> None:
    assert lease.acquire(engine, "crm-person", "alpha", ttl=EXPIRED)  # alpha died, say

    assert lease.acquire(engine, "crm-person", "beta")
    assert _holder(engine) == "beta"
    assert not lease.acquire(engine, "crm-person", "alpha"), "beta's lease is live now"

    with Session(engine) as session, pytest.raises(lease.LeaseLost):
        lease.renew(session, "crm-person", "alpha")
    lease.release(engine, "crm-person", "alpha")  # alpha's late release changes nothing
    assert _holder(engine) == "beta"
    with Session(engine) as session:
        lease.renew(session, "crm-person", "beta")  # beta's is still good
        session.commit()


def test_a_held_lease_makes_a_cycle_report_locked(engine: Engine, tmp_path: Path) -> None:
    ctx = _context(engine, tmp_path, _store(tmp_path))
    assert lease.acquire(engine, "crm-person", "someone-else")

    report = run_mapping(ctx, "crm-person")

    assert report.status == "locked" and report.run_id is None
    assert _count(engine, SyncRun) == 0 and _count(engine, Person) == 0
    assert _holder(engine) == "someone-else", "the refused cycle leaves the lease alone"


# -- across processes -----------------------------------------------------------------------

PROCESSES = 4
LEADS = 6


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "crm.json"
    store = MemoryStore(path)
    for i in range(LEADS):
        store.create("Lead", {"Email": f"lead{i}@acme.com", "LastName": f"L{i}", "Company": "A"})
    return path


def _context(engine: Engine, tmp_path: Path, store_path: Path) -> SyncContext:
    folder = tmp_path / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crm-person.yaml").write_text(yaml.safe_dump(mapping(), sort_keys=False))
    schema = HubSchema.standard()
    config = {"type": "memory", "path": str(store_path), "faults": {"latency_ms": 300}}
    return SyncContext(
        engine,
        load_mappings(folder, hub_schema=schema),
        schema,
        lambda name: MemoryConnector(name, config),
    )


def _contender(url: str, folder: str, store_path: str, barrier: Any, results: Any) -> None:
    try:
        ctx = _context(make_engine(url), Path(folder), Path(store_path))
        barrier.wait(timeout=60)
        report = run_mapping(ctx, "crm-person")
        results.put((report.status, report.run_id, report.created_hub))
        ctx.engine.dispose()
    except BaseException as exc:  # the parent reports it
        results.put(("crashed", None, repr(exc)))
        raise


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return len(list(session.exec(select(model))))


def _race(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    store_path = _store(tmp_path)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(PROCESSES), spawn.Queue()
    processes = [
        spawn.Process(
            target=_contender,
            args=(url, str(tmp_path / f"p{i}"), str(store_path), barrier, results),
        )
        for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()

    statuses = sorted(status for status, _, _ in reports)
    assert statuses == ["locked"] * (PROCESSES - 1) + ["success"], reports
    [(_, run_id, created)] = [r for r in reports if r[0] == "success"]
    assert created == LEADS
    people = [p.email for p in _people(engine)]
    assert sorted(people) == sorted(set(people)) and len(people) == LEADS, "no duplicates"
    with Session(engine) as session:
        assert [r.id for r in session.exec(select(SyncRun))] == [run_id]
    assert _holder(engine) is None, "the winner gave the lease back"
    assert len(MemoryStore(store_path).all("Lead")) == LEADS


def _people(engine: Engine) -> list[Person]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(Person)))


@pytest.mark.postgres
def test_only_one_of_many_processes_runs_the_mapping_on_postgres(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    _race(postgres_engine, tmp_path)


def test_only_one_of_many_processes_runs_the_mapping_on_sqlite(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _race(sqlite_engine, tmp_path)
