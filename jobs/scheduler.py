"""``syncline scheduler``: one APScheduler process running every mapping on its schedule.

One process, never one per web worker: APScheduler 3 has no cross-process coordination, so two
schedulers would both fire every job. The database lease (jobs.lease) is the second safeguard:
even a stray second scheduler, or a manual ``syncline sync``, cannot run a mapping twice at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler, SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlmodel import col, select

from core.db import session, utcnow
from core.logs import event, get_logger
from core.models import SyncError
from jobs import retention
from jobs.engine import SyncContext, run_mapping
from mappings.schedule import parse_schedule

log = get_logger("scheduler")

RETRY_SWEEP_SECONDS = 60


def sync_job(ctx: SyncContext, name: str, trigger: str = "schedule") -> None:
    """One scheduled cycle; the engine records every failure, so nothing escapes to APScheduler."""
    report = run_mapping(ctx, name, trigger=trigger)
    if report.status == "locked":
        event(log, "job.skipped", mapping=name, reason="locked")


def sweep_retries(ctx: SyncContext) -> list[str]:
    """Run a cycle now for every mapping with records due for an automatic retry."""
    with session(ctx.engine) as db:
        due = db.exec(
            select(SyncError.mapping)
            .where(SyncError.status == "retrying", col(SyncError.next_retry_at) <= utcnow())
            .distinct()
        ).all()
    names = [name for name in due if name in ctx.mappings and ctx.mappings[name].enabled]
    for name in names:
        sync_job(ctx, name, trigger="retry")
    return names


def purge_job(ctx: SyncContext, days: int) -> None:
    """The daily retention purge."""
    purged = retention.purge(ctx.engine, days)
    retention.refresh_statistics(ctx.engine)
    event(log, "retention.purged", errors=purged.errors, runs=purged.runs, days=days)


def build_scheduler(
    ctx: SyncContext,
    *,
    retention_days: int = retention.DEFAULT_RETENTION_DAYS,
    workers: int = 4,
    scheduler: BaseScheduler | None = None,
    extra_jobs: list[tuple[Callable[[], Any], dict[str, Any]]] = (),  # type: ignore[assignment]
) -> BaseScheduler:
    """A scheduler with one job per enabled mapping, the retry sweeper and the retention purge."""
    # Checked now: a bad period must stop the start, not fail the first purge a minute later.
    retention_days = retention.check_days(retention_days, "retention days")
    scheduler = scheduler or BlockingScheduler(
        executors={"default": ThreadPoolExecutor(workers)}, timezone="UTC"
    )
    now = utcnow()
    for name, mapping in sorted(ctx.mappings.items()):
        if not mapping.enabled:
            continue
        schedule = parse_schedule(mapping.schedule)
        grace = max(10, (schedule.seconds or 60) // 2)
        scheduler.add_job(
            sync_job,
            args=(ctx, name),
            id=f"sync:{name}",
            name=f"sync {name} ({schedule})",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
            replace_existing=True,
            next_run_time=now + timedelta(seconds=1),
            **schedule.trigger_kwargs(),
        )
    scheduler.add_job(
        sweep_retries,
        "interval",
        seconds=RETRY_SWEEP_SECONDS,
        args=(ctx,),
        id="retry-sweeper",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    scheduler.add_job(
        purge_job,
        "interval",
        hours=24,
        args=(ctx, retention_days),
        id="retention-purge",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        next_run_time=now + timedelta(minutes=1),
    )
    for fn, options in extra_jobs:
        scheduler.add_job(fn, **{"max_instances": 1, "coalesce": True, **options})
    return scheduler


def _shutdown(scheduler: BaseScheduler) -> None:
    """Stop the scheduler, waiting for running cycles; stopping twice is not an error."""
    with contextlib.suppress(SchedulerNotRunningError):
        scheduler.shutdown(wait=True)


def serve(scheduler: BaseScheduler, stopping: threading.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT, then let running cycles finish their page and stop."""
    stopping = stopping or threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return  # already shutting down; a second Ctrl+C must not start another shutdown
        # Set before anything else: a second signal (Ctrl+C reaches the whole process group
        # while the parent sends SIGTERM) can interrupt this very handler.
        stopping.set()  # cycles stop at their next page boundary; cursors are safe there
        event(log, "scheduler.stopping", signal=signal.Signals(signum).name)
        # From a signal handler, shutdown must not block on the very thread it interrupted.
        threading.Thread(target=_shutdown, args=(scheduler,), name="syncline-shutdown").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    event(log, "scheduler.started", jobs=len(scheduler.get_jobs()))
    scheduler.start()
    for thread in threading.enumerate():  # wait for the shutdown (and its running cycles)
        if thread.name == "syncline-shutdown":
            thread.join()
    event(log, "scheduler.stopped")
