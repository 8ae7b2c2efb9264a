"""A hub database outage under a running scheduler: one event per failed job, no traceback,
a job-level error per affected mapping once it is back, and periodic jobs run again at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import make_url

from connectors.memory.store import MemoryStore
from core.clock import utcnow
from core.db import init_db, make_engine
from jobs.live import LiveConfig
from jobs.outage import OUTAGE_CODE, outage_for
from jobs.scheduler import Watcher, build_scheduler, purge_job
from tests.conftest import PostgresServer
from tests.jobs.harness import mapping
from tests.netproxy import CuttableProxy
from tests.processes import Installation, wait_until

PASSWORD = "pw-outage-7c1"

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied_url(postgres_server: PostgresServer) -> Iterator[tuple[str, CuttableProxy]]:
    """A fresh hub database on PostgreSQL, reached through a proxy the test can cut."""
    direct = postgres_server.create(f"outage_{time.monotonic_ns() % 10**8}")
    engine = make_engine(direct)
    init_db(engine)
    engine.dispose()
    url = make_url(direct)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    # A password in the URL (the server trusts loopback and ignores it) that must never show.
    through = url.set(port=proxy.port, password=PASSWORD).render_as_string(hide_password=False)
    yield through, proxy
    proxy.close()
    postgres_server.drop(direct)


def _setup(tmp_path: Path, url: str) -> Installation:
    store = MemoryStore(tmp_path / "crm.json")
    for i in range(3):
        store.create("Lead", {"Email": f"lead{i}@acme.com", "LastName": "L", "Company": "A"})
    return Installation(
        tmp_path, url, {"crm": {"type": "memory", "path": str(tmp_path / "crm.json")}},
        {"crm-person": mapping(schedule="10s")},
    )


def test_a_database_outage_is_one_event_per_job_and_a_report_afterwards(
    tmp_path: Path, proxied_url: tuple[str, CuttableProxy]
) -> None:
    url, proxy = proxied_url
    inst = _setup(tmp_path, url)
    scheduler = inst.start("scheduler")
    try:
        scheduler.wait_for_line(r"event=run\.finished mapping=crm-person run=\d+ status=success")
        proxy.cut()
        cut_at = utcnow()
        scheduler.wait_for_line(r"event=database\.unavailable", timeout=20)
        scheduler.wait_for_line(r"event=job\.skipped job=sync:crm-person", timeout=25)
        proxy.restore()
        scheduler.wait_for_line(r"event=database\.recovered", timeout=20)
        [(message, status, kind)] = wait_until(
            lambda: inst.query(
                "SELECT message, status, kind FROM sync_error WHERE code = :c", c=OUTAGE_CODE
            ), 15, "the outage's job-level error",
        )
        # A cycle after the outage succeeds (and does not resolve the outage report).
        wait_until(lambda: inst.query(
            "SELECT id FROM sync_run WHERE status = 'success' AND started_at > :t", t=cut_at
        ), 30, "a successful cycle after the outage")
        [(still,)] = inst.query("SELECT status FROM sync_error WHERE code = :c", c=OUTAGE_CODE)
        scheduler.signal(15)
        assert scheduler.wait(timeout=20) == 0
    finally:
        scheduler.stop()
        proxy.restore()

    assert status == "open" and still == "open" and kind == "system"
    assert re.search(r"could not be reached from \S+ \S+ to \S+ UTC \(\d+ s\); \d+ scheduled "
                     r"cycles? of this mapping did not run", message), message
    log = scheduler.text()
    assert "Traceback" not in log and "Job raised" not in log
    assert log.count("event=database.unavailable") == 1, "one event when it starts"
    assert PASSWORD not in log and PASSWORD not in message
    for line in log.splitlines():
        assert re.match(r"ts=\S+ level=\w+ event=\S+", line), line


def test_a_periodic_job_that_failed_runs_again_once_the_database_is_back(
    tmp_path: Path, proxied_url: tuple[str, CuttableProxy]
) -> None:
    url, proxy = proxied_url
    inst = _setup(tmp_path, url)
    engine = make_engine(url)
    try:
        live = LiveConfig(engine, inst.mappings_dir, inst.config)
        scheduler = build_scheduler(live, scheduler=BackgroundScheduler(timezone="UTC"))
        first = scheduler.get_job("retention-purge").next_run_time
        assert (first - utcnow()).total_seconds() > 30, "the purge is due a minute after start"

        proxy.cut()
        engine.dispose()
        assert purge_job(live, 90) is None, "the failure is reported, never raised"
        outage = outage_for(engine)
        assert outage.down and "retention-purge" in outage.failed_jobs

        proxy.restore()
        Watcher(scheduler, live).tick()

        assert not outage.down
        rerun = scheduler.get_job("retention-purge").next_run_time
        assert (rerun - utcnow()).total_seconds() < 5, "run again now, not in 24 hours"
    finally:
        proxy.restore()
        engine.dispose()


def test_the_scheduler_logs_no_password_when_it_cannot_start(tmp_path: Path) -> None:
    inst = Installation(
        tmp_path, f"postgresql+psycopg://syncline:{PASSWORD}@127.0.0.1:1/hub?connect_timeout=2",
        {"crm": {"type": "memory", "path": str(tmp_path / "crm.json")}},
        {"crm-person": mapping()},
    )
    result = inst.run("scheduler", timeout=60)
    assert result.returncode == 2
    assert PASSWORD not in result.stderr and "Traceback" not in result.stderr
    assert "cannot connect to postgresql+psycopg://syncline:***@127.0.0.1:1/hub" in result.stderr
