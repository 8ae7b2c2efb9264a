"""``syncline scheduler``: one APScheduler process running every mapping on its schedule.

One process, never one per web worker: APScheduler 3 has no cross-process coordination, so two
schedulers would both fire every job. The database lease (jobs.lease) is the second safeguard:
even a stray second scheduler, or a manual ``syncline sync``, cannot run a mapping twice at once.

The scheduler follows its files (jobs.live): a watch job re-reads them when they change and
adds, removes or reschedules mapping jobs to match; every cycle starts from the files as they
are at that moment. The watch job also closes runs whose process died (jobs.lease.reap) and
notices when the hub database is back after an outage (jobs.outage).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler, SchedulerNotRunningError
from sqlmodel import Session, col, select

from alerts.evaluate import EVALUATE_EVERY_SECONDS, alert_job
from alerts.rules import alerts_path
from core.clock import utcnow
from core.db import session
from core.logs import event, get_logger
from core.models import SyncError, SyncRun
from jobs import lease, retention
from jobs.engine import SyncContext, active_cycles, run_mapping
from jobs.failures import job_retry_at
from jobs.hub_steps import HUB_STEPS_SECONDS, run_hub_steps
from jobs.live import LiveConfig, Snapshot
from jobs.outage import guarded, outage_for
from jobs.runs import close_unfinished
from mappings.schedule import parse_schedule

log = get_logger("scheduler")

RETRY_SWEEP_SECONDS = 60
#: How often the files are checked for changes, dead holders reaped and a down database probed.
WATCH_SECONDS = 2.0
#: Dead runs are looked for every this many watch ticks (one query; cheap, but not free).
REAP_EVERY_TICKS = 5
#: The first alert evaluation after start.
ALERTS_FIRST_AFTER_SECONDS = 15
#: After SIGTERM, cycles get this long to reach a safe point before the process leaves anyway.
DEFAULT_STOP_TIMEOUT = 8.0

#: What scheduler jobs run against: fixed (tests, one-off runs) or following the files.
Source = SyncContext | LiveConfig


def current(source: Source) -> SyncContext:
    """The context a job runs with now (a LiveConfig re-reads changed files first)."""
    return source.current() if isinstance(source, LiveConfig) else source


@guarded(lambda source, name, trigger="schedule": (f"sync:{name}", name))
def sync_job(source: Source, name: str, trigger: str = "schedule") -> None:
    """One scheduled cycle; the engine records every failure, so nothing escapes to APScheduler."""
    ctx = current(source)
    if name not in ctx.mappings:  # its file broke or it went away since the job was planned
        event(log, "job.skipped", mapping=name, reason="not loaded")
        return
    if trigger == "schedule":
        # A cycle that failed for a passing cause (429 with Retry-After, a paused budget) backs
        # off like a record: the sweeper runs it when its retry is due, the schedule not sooner.
        with session(ctx.engine) as db:
            wait_until = job_retry_at(db, name, utcnow())
        if wait_until is not None:
            event(log, "job.skipped", mapping=name, reason="backing off",
                  until=wait_until.isoformat())
            return
    report = run_mapping(ctx, name, trigger=trigger)
    if report.status == "locked":
        event(log, "job.skipped", mapping=name, reason="locked", detail=report.message)


@guarded(lambda source: ("retry-sweeper", None))
def sweep_retries(source: Source) -> list[str]:
    """Run a cycle now for every mapping with records due for an automatic retry."""
    ctx = current(source)
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


@guarded(lambda source, days: ("retention-purge", None))
def purge_job(source: Source, days: int) -> None:
    """The daily retention purge."""
    ctx = current(source)
    purged = retention.purge(ctx.engine, days, ctx.mappings)
    retention.refresh_statistics(ctx.engine)
    event(
        log, "retention.purged", errors=purged.errors, runs=purged.runs,
        history=purged.history, inbound=purged.inbound, days=days,
    )


@guarded(lambda source: ("hub-steps", None))
def hub_steps_job(source: Source) -> None:
    """The hub's own work after the pulls (member touches, attribution), on its own clock."""
    run_hub_steps(current(source))


@guarded(lambda source: ("alerts", None))
def alerts_job(source: Source) -> None:
    """Evaluate the alert rules (mappings/alerts.yaml) and send what each channel is owed."""
    if not isinstance(source, LiveConfig):
        return  # a fixed context has no folder, so no rules file to follow
    snapshot = source.snapshot()
    alert_job(snapshot.ctx, alerts_path(source.mappings_dir), stopped=snapshot.workspace.stopped)


class Watcher:
    """The scheduler's housekeeping tick: file changes, dead holders, the database coming back."""

    def __init__(self, scheduler: BaseScheduler, source: Source) -> None:
        self.scheduler = scheduler
        self.source = source
        self.engine = source.engine
        self.ticks = 0
        #: The reading of the files the jobs were last made to match (build_scheduler's).
        self._matched: Snapshot | None = (
            source.snapshot() if isinstance(source, LiveConfig) else None
        )

    @guarded(lambda watcher: ("watch", None))
    def tick(self) -> None:
        """One look at everything; called every WATCH_SECONDS by its own job."""
        self.ticks += 1
        outage = outage_for(self.engine)
        for job_id in outage.probe():  # the database is back: what failed runs again now
            with contextlib.suppress(JobLookupError):
                self.scheduler.modify_job(job_id, next_run_time=utcnow())
        if isinstance(self.source, LiveConfig):
            snapshot = self.source.snapshot()  # a stat of each file; a reload if one changed
            if snapshot is not self._matched:
                reconcile(self.scheduler, self.source, snapshot.ctx)
                self._matched = snapshot
        if self.ticks % REAP_EVERY_TICKS == 1 and not outage.down:
            reap_job(self.source)


@guarded(lambda source: ("reap", None))
def reap_job(source: Source) -> list[int]:
    """Close the runs left ``running`` by processes that died, and free their leases."""
    return lease.reap(source.engine)


def _sync_job_options(name: str, schedule_text: str, now: Any) -> dict[str, Any]:
    schedule = parse_schedule(schedule_text)
    grace = max(10, (schedule.seconds or 60) // 2)
    return {
        "id": f"sync:{name}",
        "name": f"sync {name} ({schedule})",
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": grace,
        "replace_existing": True,
        "next_run_time": now + timedelta(seconds=1),
        **schedule.trigger_kwargs(),
    }


def reconcile(scheduler: BaseScheduler, source: Source, ctx: SyncContext) -> None:
    """Make the mapping jobs match the mappings: add new, drop gone or disabled, reschedule.

    A job whose mapping only changed content is left alone: its next cycle reads the new
    content anyway (``current``).
    """
    wanted = {name: m.schedule for name, m in ctx.mappings.items() if m.enabled}
    have = {
        job.id.removeprefix("sync:"): job
        for job in scheduler.get_jobs()
        if job.id.startswith("sync:")
    }
    now = utcnow()
    for name in sorted(set(have) - set(wanted)):
        with contextlib.suppress(JobLookupError):
            scheduler.remove_job(f"sync:{name}")
        event(log, "job.removed", mapping=name)
    for name, schedule_text in sorted(wanted.items()):
        job = have.get(name)
        options = _sync_job_options(name, schedule_text, now)
        if job is not None and job.name == options["name"]:
            continue
        scheduler.add_job(sync_job, args=(source, name), **options)
        event(log, "job.added" if job is None else "job.rescheduled", mapping=name,
              schedule=schedule_text)


def build_scheduler(
    source: Source,
    *,
    retention_days: int = retention.DEFAULT_RETENTION_DAYS,
    workers: int = 4,
    scheduler: BaseScheduler | None = None,
    extra_jobs: list[tuple[Callable[[], Any], dict[str, Any]]] = (),  # type: ignore[assignment]
) -> BaseScheduler:
    """A scheduler with one job per enabled mapping, the retry sweeper and the retention purge.

    The hub steps (jobs.hub_steps) get a job when there are files to run them with. With a
    LiveConfig it also gets the watch job that follows the files, reaps dead runs and notices
    the end of a database outage.
    """
    # Checked now: a bad period must stop the start, not fail the first purge a minute later.
    retention_days = retention.check_days(retention_days, "retention days")
    scheduler = scheduler or BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(workers)}, timezone="UTC"
    )
    now = utcnow()
    ctx = current(source)
    for name, mapping in sorted(ctx.mappings.items()):
        if mapping.enabled:
            scheduler.add_job(
                sync_job, args=(source, name), **_sync_job_options(name, mapping.schedule, now)
            )
    scheduler.add_job(
        sweep_retries,
        "interval",
        seconds=RETRY_SWEEP_SECONDS,
        args=(source,),
        id="retry-sweeper",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    scheduler.add_job(
        purge_job,
        "interval",
        hours=24,
        args=(source, retention_days),
        id="retention-purge",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        next_run_time=now + timedelta(minutes=1),
    )
    if isinstance(source, LiveConfig) or ctx.programs is not None or ctx.attribution is not None:
        scheduler.add_job(
            hub_steps_job,
            "interval",
            seconds=HUB_STEPS_SECONDS,
            args=(source,),
            id="hub-steps",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            next_run_time=now + timedelta(seconds=HUB_STEPS_SECONDS),
        )
    if isinstance(source, LiveConfig):
        scheduler.add_job(
            alerts_job,
            "interval",
            seconds=EVALUATE_EVERY_SECONDS,
            args=(source,),
            id="alerts",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            # Soon after start (the first cycles have run by then), not a full minute later.
            next_run_time=now + timedelta(seconds=ALERTS_FIRST_AFTER_SECONDS),
        )
        scheduler.add_job(
            Watcher(scheduler, source).tick,
            "interval",
            seconds=WATCH_SECONDS,
            id="watch",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            next_run_time=now,
        )
    for fn, options in extra_jobs:
        scheduler.add_job(fn, **{"max_instances": 1, "coalesce": True, **options})
    return scheduler


def _shutdown(scheduler: BaseScheduler, engine: Any, timeout: float) -> None:
    """Stop the scheduler: cycles get ``timeout`` seconds to reach a safe point, then we leave.

    Leaving with a cycle still inside one remote call is safe (nothing of its page was
    committed), so its run is closed as ``interrupted`` and its lease given back for the next
    process; the process then exits without waiting for the call.
    """
    with contextlib.suppress(SchedulerNotRunningError):
        scheduler.shutdown(wait=False)
    deadline = time.monotonic() + timeout
    while active_cycles() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = active_cycles()
    if not left:
        return
    _abandon(engine, left)
    event(log, "scheduler.stopped", forced=len(left))
    os._exit(0)  # the threads still inside a remote call are abandoned, not waited for


def _abandon(engine: Any, cycles: list[Any]) -> None:
    """Close the runs of cycles we leave behind and give their leases back."""
    now = utcnow()
    opened = [cycle.run_id for cycle in cycles if cycle.run_id is not None]
    with contextlib.suppress(Exception):  # best effort: a taker closes them anyway
        with Session(engine) as db:
            close_unfinished(
                db,
                col(SyncRun.id).in_(opened),
                "interrupted",
                "stopped for shutdown inside a remote call; the page in hand was not committed "
                "and the next cycle does it again",
                now,
            )
            db.commit()
        for cycle in cycles:
            if cycle.holder is not None:
                lease.release(engine, cycle.mapping, cycle.holder)


def _watch_parent(parent: int, stop: Callable[[], None], poll: float = 1.0) -> None:
    """Call ``stop`` once ``parent`` (the process that started us) is gone.

    A scheduler started by ``syncline demo`` must not outlive it, even when the demo is killed
    with SIGKILL and cannot stop it: an orphan would go on syncing against stopped sandboxes.
    The parent's pid comes from the parent itself, so one killed before we started is noticed.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        event(log, "scheduler.parent_gone", parent=parent)
        stop()

    threading.Thread(target=watch, name="syncline-parent-watch", daemon=True).start()


def serve(
    scheduler: BaseScheduler,
    stopping: threading.Event | None = None,
    *,
    engine: Any = None,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    parent_pid: int | None = None,
) -> None:
    """Run until SIGTERM or SIGINT (or ``parent_pid`` is gone); stop within ``stop_timeout``.

    The scheduler runs on its own thread; this one only waits for the stop and then stops it,
    so a signal arriving at any moment, even before the scheduler started, ends the process.
    """
    stopping = stopping or threading.Event()
    signalled_at: list[float] = []

    def stop(reason: str) -> None:
        if stopping.is_set():
            return  # already shutting down; a second Ctrl+C must not start another shutdown
        signalled_at.append(time.monotonic())
        stopping.set()  # cycles stop at their next remote call or page boundary
        event(log, "scheduler.stopping", signal=reason)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if parent_pid is not None:
        _watch_parent(parent_pid, lambda: stop("parent gone"))
    event(log, "scheduler.started", jobs=len(scheduler.get_jobs()))
    if not stopping.is_set():
        scheduler.start()
    while not stopping.wait(0.5):
        pass  # the wait wakes for signals too: their handler sets ``stopping``
    _shutdown(scheduler, engine, stop_timeout)
    event(log, "scheduler.stopped")
    # The stop deadline counts from the signal, for cycles and other jobs alike.
    _leave_within(signalled_at[0] + stop_timeout - time.monotonic() if signalled_at else 0)


def _leave_within(seconds: float) -> None:
    """Exit now if other jobs (the purge, the demo's activity) would hold the process longer.

    Python waits for the executor's worker threads at exit; a job that is not a cycle has
    nothing of ours to lose by being left, and the stop deadline is a promise.
    """
    deadline = time.monotonic() + seconds
    for thread in threading.enumerate():
        if thread is threading.current_thread() or thread.daemon:
            continue
        thread.join(timeout=max(deadline - time.monotonic(), 0))
        if thread.is_alive():
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(0)
