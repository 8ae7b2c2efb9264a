"""The scheduler: one job per enabled mapping, the retry sweeper, the purge, a clean SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from connectors.memory.store import MemoryStore
from core.clock import utcnow
from core.models import SyncError
from jobs import causes
from jobs import scheduler as scheduler_module
from jobs.scheduler import build_scheduler, purge_job, sweep_retries, sync_job
from tests.jobs.harness import Harness, mapping

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    stores = {"crm": MemoryStore(), "crm2": MemoryStore()}
    return Harness(
        engine,
        tmp_path,
        mapping(name="every-5m", schedule="5m"),
        mapping(name="quarter-hourly", connection="crm2", schedule="*/15 * * * *"),
        mapping(name="switched-off", schedule="1m", enabled=False),
        stores=stores,
    )


def _error(mapping_name: str, **values: Any) -> SyncError:
    now = utcnow()
    defaults: dict[str, Any] = {
        "fingerprint": f"{mapping_name}-{values.get('remote_id')}-{values.get('status')}",
        "mapping": mapping_name,
        "direction": "to_remote",
        "kind": "transient",
        "message": "503 Service Unavailable",
        "first_seen": now,
        "last_seen": now,
    }
    return SyncError(**{**defaults, **values})


def _add(engine: Engine, *rows: Any) -> None:
    with Session(engine) as session:
        session.add_all(rows)
        causes.recount(session, {r.mapping for r in rows if isinstance(r, SyncError)})
        session.commit()


def test_one_job_per_enabled_mapping_with_its_schedule(h: Harness) -> None:
    scheduler = build_scheduler(
        h.ctx, retention_days=30, scheduler=BackgroundScheduler(timezone="UTC")
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}

    assert set(jobs) == {
        "sync:every-5m",
        "sync:quarter-hourly",
        "retry-sweeper",
        "retention-purge",
    }, "a disabled mapping gets no job"
    every = jobs["sync:every-5m"]
    assert isinstance(every.trigger, IntervalTrigger)
    assert every.trigger.interval == timedelta(minutes=5)
    assert every.args == (h.ctx, "every-5m")
    cron = jobs["sync:quarter-hourly"]
    assert isinstance(cron.trigger, CronTrigger)
    assert str(cron.trigger.fields[cron.trigger.FIELD_NAMES.index("minute")]) == "*/15"
    start = utcnow().replace(minute=1, second=0, microsecond=0)
    assert cron.trigger.get_next_fire_time(None, start) == start.replace(minute=15)
    for job in jobs.values():
        assert (job.max_instances, job.coalesce) == (1, True), job.id

    sweeper = jobs["retry-sweeper"]
    assert sweeper.func is sweep_retries and sweeper.args == (h.ctx,)
    assert sweeper.trigger.interval == timedelta(seconds=scheduler_module.RETRY_SWEEP_SECONDS)
    purge = jobs["retention-purge"]
    assert purge.func is purge_job and purge.args == (h.ctx, 30)
    assert purge.trigger.interval == timedelta(days=1)


def test_the_retry_sweeper_runs_only_mappings_with_due_retries(h: Harness, engine: Engine) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.crm.lock_row("Lead", "Email", "ann@acme.com", times=1)
    assert h.run("every-5m").failed == 1
    assert h.run("quarter-hourly").status == "success"
    [error] = h.errors("retrying")
    assert error.mapping == "every-5m" and h.link_of(ann) is not None  # linked on crm2 only
    assert not [link for link in h.links() if link.connection == "crm"]

    assert sweep_retries(h.ctx) == [], "nothing is due yet: the backoff is respected"
    assert len(h.runs()) == 2

    with Session(engine) as session:  # time passes
        row = session.get(SyncError, error.id)
        assert row is not None
        row.next_retry_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    past, future = utcnow() - timedelta(minutes=1), utcnow() + timedelta(hours=1)
    _add(
        engine,
        # Not due yet: the other mapping must not run for it.
        _error("quarter-hourly", remote_id="x1", status="retrying", next_retry_at=future),
        # Due, but the mapping is switched off.
        _error("switched-off", remote_id="x2", status="retrying", next_retry_at=past),
        # Due time passed, but it is open (waits for a fix), not retrying.
        _error("quarter-hourly", remote_id="x3", status="open", next_retry_at=past),
    )

    assert sweep_retries(h.ctx) == ["every-5m"]

    runs = h.runs()
    assert len(runs) == 3
    assert (runs[-1].mapping, runs[-1].trigger, runs[-1].status) == ("every-5m", "retry", "success")
    assert [link.hub_id for link in h.links() if link.connection == "crm"] == [ann]
    assert h.lead_by_email("ann@acme.com")["Syncline_Id__c"] == ann
    assert [e.status for e in h.errors() if e.id == error.id] == ["resolved"]


def test_a_scheduled_cycle_waits_out_its_job_level_backoff(h: Harness, engine: Engine) -> None:
    later = utcnow() + timedelta(minutes=15)
    _add(engine, _error("every-5m", level="job", direction="cycle", kind="rate_limited",
                        status="retrying", next_retry_at=later, remote_id=None))

    sync_job(h.ctx, "every-5m")
    assert h.runs() == [], "the remote asked for 15 minutes: the schedule does not call early"

    sync_job(h.ctx, "every-5m", trigger="retry")  # the sweeper, once it is due, does run it
    assert [r.trigger for r in h.runs()] == ["retry"]


def test_the_purge_job_purges(h: Harness, engine: Engine) -> None:
    old = utcnow() - timedelta(days=40)
    _add(
        engine,
        _error("every-5m", remote_id="r1", status="resolved", last_seen=old, first_seen=old),
        _error("every-5m", remote_id="r2", status="resolved"),
    )

    purge_job(h.ctx, 30)

    assert [e.remote_id for e in h.errors()] == ["r2"]


# -- the real process -----------------------------------------------------------------------

LEADS = 30


def _write_setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    store_path = tmp_path / "crm.json"
    store = MemoryStore(store_path)
    for i in range(LEADS):
        store.create("Lead", {"Email": f"lead{i}@acme.com", "LastName": f"L{i}", "Company": "A"})
    config = tmp_path / "connections.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "crm": {
                    "type": "memory",
                    "path": str(store_path),
                    "page_size": 3,
                    "faults": {"latency_ms": 200},
                }
            }
        )
    )
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "crm-person.yaml").write_text(yaml.safe_dump(mapping(schedule="1h"), sort_keys=False))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("SYNCLINE_LOG_LEVEL", None)
    return config, folder, env


def _runs(url: str) -> list[tuple[int, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, mapping, status FROM sync_run ORDER BY id"))
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        engine.dispose()


def test_sigterm_stops_the_scheduler_cleanly(tmp_path: Path) -> None:
    config, folder, env = _write_setup(tmp_path)
    cli = [sys.executable, "-m", "cli", "--config", str(config), "--mappings", str(folder)]
    subprocess.run(
        [*cli, "init"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60
    )
    url = env["DATABASE_URL"]

    process = subprocess.Popen(
        [*cli, "scheduler"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _runs(url):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no sync_run within 30 s"
            time.sleep(0.1)
        assert _runs(url)[0][2] == "running", "the signal should arrive mid-cycle"

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    lines = stderr.splitlines()
    assert any("event=scheduler.stopping" in line and "signal=SIGTERM" in line for line in lines)
    finished = [line for line in lines if "event=run.finished" in line]
    assert len(finished) == 1, stderr
    match = re.search(r"\bmapping=crm-person run=(\d+)\b", finished[0])
    assert match is not None, finished[0]
    assert re.search(r"\bevent=scheduler\.stopped\b", lines[-1]), "stopped is the last word"
    runs = _runs(url)
    assert [run_id for run_id, _, _ in runs] == [int(match.group(1))]
    # The signal lands inside a call (200 ms each): the page in hand is abandoned, uncommitted.
    assert [status for _, _, status in runs] == ["interrupted"], "no run is left running"
    read = int(re.search(r"\bread=(\d+)", finished[0]).group(1))  # type: ignore[union-attr]
    assert read < LEADS, "the cycle stopped at its next call instead of running on"
    assert all(re.match(r"ts=\S+ level=\w+ event=\S+", line) for line in lines), stderr

    # Nothing was lost: the next cycle picks up what the stopped one had not committed.
    done = subprocess.run(
        [*cli, "sync", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            emails = [row[0] for row in connection.execute(text("SELECT email FROM person"))]
    finally:
        engine.dispose()
    assert sorted(emails) == sorted(f"lead{i}@acme.com" for i in range(LEADS))
