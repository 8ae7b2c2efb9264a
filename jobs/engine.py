"""One sync cycle of a mapping (to_hub, then to_remote) under a lease, and runs of many mappings.

The order matters: pulling first means the push phase compares hub values against snapshots
that already include the remote's latest changes, so a conflict is resolved once, here, and
the push only sends what the hub really has to say.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine

from connectors.base import Connector
from connectors.errors import ConnectorError, ErrorKind
from core import shutdown
from core.db import UNREACHABLE, utcnow
from core.db import session as db_session
from core.errors import InputError
from core.hubschema import HubSchema
from core.logs import bound, event, get_logger
from jobs import lease
from jobs.budget import over_budget, record_usage
from jobs.crashes import crash_failure, traceback_tail
from jobs.cycle import JOB_DIRECTION, Cycle, MassChangeBraked, Progress, pending_pushes
from jobs.failures import Failure, FailureLog
from jobs.hard_deletes import pull_hard_deletes
from jobs.proxies import DryRunConnector, GuardedConnector
from jobs.pull import PullPhase
from jobs.push import PushPhase
from jobs.report import RunReport
from jobs.runs import close_run, open_run
from mappings.spec import Mapping

log = get_logger("engine")

#: How often ``--wait`` asks for a held lease again.
LOCK_POLL_SECONDS = 1.0


@dataclass
class SyncContext:
    """Everything a cycle needs from outside: database, mappings, hub schema, connections."""

    engine: Engine
    mappings: dict[str, Mapping]
    schema: HubSchema
    #: Builds a fresh connector for a connection name (one per cycle: no state shared
    #: between threads, and each run's API calls are counted on its own instance).
    connect: Callable[[str], Connector]
    #: Set on shutdown: cycles stop at the next page boundary, where cursors are safe.
    stopping: threading.Event | None = None


def run_mapping(
    ctx: SyncContext,
    name: str,
    *,
    trigger: str = "manual",
    dry_run: bool = False,
    allow_mass_change: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> RunReport:
    """Run one cycle of one mapping and report it; remote failures never escape as exceptions.

    ``wait``: seconds to keep trying when another process holds the mapping (default: none).
    """
    mapping = ctx.mappings[name]
    report = RunReport(mapping=name, dry_run=dry_run)
    if not mapping.enabled:
        report.status, report.message = "disabled", "mapping is disabled (enabled: false)"
        return report
    started = time.monotonic()
    holder = None if dry_run else lease.new_holder()
    with shutdown.bound(ctx.stopping):
        if holder is not None and not _claim(ctx, name, holder, wait, report):
            return report
        active = _active_add(name, holder)  # from the lease on: a stop waits for this cycle
        try:
            if ctx.stopping is not None and ctx.stopping.is_set():
                # The stop came between the scheduler starting this job and now: a cycle
                # begun after the process said it stopped would outlive that word.
                report.status, report.message = "interrupted", "not started: shutting down"
                return report
            _run_held(ctx, name, mapping, holder, report, started, trigger=trigger,
                      dry_run=dry_run, allow_mass_change=allow_mass_change, progress=progress,
                      active=active)
        finally:
            try:
                if holder is not None:
                    lease.release(ctx.engine, name, holder)
            finally:
                _active_remove(active)
    return report


def _claim(ctx: SyncContext, name: str, holder: str, wait: float, report: RunReport) -> bool:
    """Take the mapping's lease, waiting up to ``wait`` seconds; say who holds it if we cannot."""
    deadline = time.monotonic() + wait
    while True:
        claim = lease.acquire(ctx.engine, name, holder)
        if claim:
            return True
        if time.monotonic() >= deadline or (ctx.stopping and ctx.stopping.is_set()):
            break
        try:
            shutdown.sleep(min(LOCK_POLL_SECONDS, max(deadline - time.monotonic(), 0.05)))
        except shutdown.ShutdownRequested:
            break
    report.status = "locked"
    who = claim.other.describe() if claim.other is not None else "another process"
    report.message = f"not run: another cycle of this mapping is running ({who})"
    report.backlog = pending_pushes(ctx.engine, ctx.mappings[name])
    event(log, "run.locked", mapping=name, holder=claim.other.holder if claim.other else None)
    return False


def _run_held(
    ctx: SyncContext,
    name: str,
    mapping: Mapping,
    holder: str | None,
    report: RunReport,
    started: float,
    *,
    trigger: str,
    dry_run: bool,
    allow_mass_change: bool,
    progress: Progress | None,
    active: ActiveCycle | None,
) -> None:
    """The cycle itself, once the lease is ours: phases, failures, the run row, the heartbeat."""
    connector: Connector | None = None
    cycle: Cycle | None = None
    heartbeat: lease.Heartbeat | None = None
    try:
        report.run_id = None if dry_run else open_run(ctx.engine, name, trigger, holder)
        if holder is not None and report.run_id is not None:
            heartbeat = lease.Heartbeat(ctx.engine, name, holder, lease.ttl_from_env()).start()
        if active is not None:
            active.run_id = report.run_id
        with bound(mapping=name, run=report.run_id):
            event(log, "run.started", trigger=trigger, dry_run=dry_run)
            try:
                connector = ctx.connect(mapping.connection)
                paused = over_budget(ctx.engine, mapping.connection, connector, utcnow())
                if paused is not None:
                    raise _PausedError(paused)
                if dry_run:
                    connector = DryRunConnector(connector)
                elif holder is not None:
                    connector = GuardedConnector(
                        connector, partial(_still_held, ctx.engine, name, holder, heartbeat)
                    )
                cycle = Cycle(
                    ctx.engine,
                    mapping,
                    ctx.mappings,
                    connector,
                    ctx.schema,
                    report,
                    now=utcnow(),
                    run_id=report.run_id,
                    holder=holder,
                    dry_run=dry_run,
                    allow_mass_change=allow_mass_change,
                    progress=progress,
                    stopping=ctx.stopping,
                )
                if mapping.direction.pulls:
                    pull = PullPhase(cycle)
                    pull.run()
                    if not cycle.stop_requested():
                        pull_hard_deletes(cycle, pull)
                if mapping.direction.pushes and not cycle.stop_requested():
                    PushPhase(cycle).run()
                report.status = "partial" if report.failed else "success"
                if not dry_run:  # the cycle completed: whatever stopped earlier ones is over
                    with db_session(ctx.engine) as session:
                        FailureLog(
                            session, name, JOB_DIRECTION, report.run_id, utcnow()
                        ).resolve_job_errors()
                if cycle.stop_requested():
                    report.message = "stopped early for shutdown; the next cycle continues"
            except shutdown.ShutdownRequested:
                report.status = "interrupted"
                report.message = (
                    "stopped for shutdown in the middle of a page; that page was not committed "
                    "and the next cycle does it again"
                )
                event(log, "run.interrupted")
            except lease.LeaseLost as exc:
                report.status = "abandoned"
                report.message = (
                    f"{exc}: this process's heartbeat stopped for longer than the lease lasts, "
                    "so another one took over; this run stopped before writing again"
                )
                event(log, "run.abandoned", error=str(exc))
            except MassChangeBraked as exc:
                _job_failure(
                    ctx,
                    report,
                    "braked",
                    Failure(
                        ErrorKind.CONFIG,
                        str(exc),
                        code=MassChangeBraked.code,
                        hint=f"check what changed in {mapping.connection}; if it is intended, "
                        f"run `syncline sync {name} --allow-mass-change` once or raise "
                        "deletes.max_fraction",
                    ),
                    dry_run,
                )
            except _PausedError as exc:
                _job_failure(ctx, report, "paused", exc.failure, dry_run)
            except ConnectorError as exc:
                _job_failure(ctx, report, "failed", Failure.from_error(exc), dry_run)
            except InputError as exc:
                _job_failure(ctx, report, "failed", Failure(ErrorKind.CONFIG, str(exc)), dry_run)
            except UNREACHABLE:
                raise  # the database is gone: nothing to record here; the scheduler reports it
            except Exception as exc:  # a bug must not take the scheduler down with it
                # One clear line for the page and the log; never the driver's text, which
                # carries the statement's parameters (jobs.crashes).
                crash = crash_failure(exc)
                trace = " < ".join(reversed(traceback_tail(exc)))  # innermost frame first
                event(log, "run.crashed", error=crash.message, trace=trace)
                _job_failure(ctx, report, "failed", crash, dry_run)
            report.api_calls = connector.api_calls if connector is not None else 0
            if connector is not None and not dry_run:
                record_usage(ctx.engine, mapping.connection, connector.usage(), utcnow())
            if isinstance(connector, DryRunConnector):
                report.planned_write_calls = connector.planned_write_calls
            report.duration_ms = int((time.monotonic() - started) * 1000)
            if not dry_run:
                close_run(ctx.engine, report)
            event(
                log,
                "run.finished",
                status=report.status,
                read=report.read,
                created_hub=report.created_hub,
                updated_hub=report.updated_hub,
                created_remote=report.created_remote,
                updated_remote=report.updated_remote,
                deleted=report.deleted,
                failed=report.failed,
                api_calls=report.api_calls,
                duration_ms=report.duration_ms,
            )
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        if cycle is not None:
            cycle.close()
        if connector is not None:
            connector.close()


def _still_held(
    engine: Engine, name: str, holder: str, heartbeat: lease.Heartbeat | None
) -> None:
    """Raise LeaseLost unless the lease still names us (asked before every remote write)."""
    if (heartbeat is not None and heartbeat.lost.is_set()) or not lease.still_ours(
        engine, name, holder
    ):
        raise lease.LeaseLost(f"lease on {name!r} was taken over by another process")


@dataclass(slots=True)
class ActiveCycle:
    """A cycle running in this process: what a forced stop must close and give back."""

    mapping: str
    holder: str
    run_id: int | None = None


_active: list[ActiveCycle] = []
_active_lock = threading.Lock()


def _active_add(mapping: str, holder: str | None) -> ActiveCycle | None:
    if holder is None:
        return None  # a dry run holds nothing and writes nothing
    cycle = ActiveCycle(mapping, holder)
    with _active_lock:
        _active.append(cycle)
    return cycle


def _active_remove(cycle: ActiveCycle | None) -> None:
    if cycle is not None:
        with _active_lock:
            _active.remove(cycle)


def active_cycles() -> list[ActiveCycle]:
    """The cycles running in this process right now."""
    with _active_lock:
        return list(_active)


class _PausedError(Exception):
    """The connection is over its API budget: this cycle does not start."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _job_failure(
    ctx: SyncContext, report: RunReport, status: str, failure: Failure, dry_run: bool
) -> None:
    """Record a job-level error (one row per mapping + cause) and mark the run."""
    report.status = status
    report.message = failure.message
    event(log, "run." + status, kind=str(failure.kind), code=failure.code, error=failure.message)
    if dry_run:
        return
    with db_session(ctx.engine) as session:
        FailureLog(session, report.mapping, JOB_DIRECTION, report.run_id, utcnow()).record(
            failure, level="job"
        )


def ordered(mappings: dict[str, Mapping], names: Iterable[str] | None = None) -> list[str]:
    """Mapping names with every ``ref`` target before the mappings that point at it."""
    wanted = list(names) if names is not None else sorted(mappings)
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path:
            return
        for row in mappings[name].fields:
            for ref in row.refs:
                if ref in mappings and ref in wanted:
                    visit(ref, (*path, name))
        done.append(name)

    for name in wanted:
        visit(name, ())
    return done


def run_all(
    ctx: SyncContext, names: Sequence[str] | None = None, **options: Any
) -> list[RunReport]:
    """Run one cycle of each named (default: every enabled) mapping, dependencies first."""
    for name in names or ():
        if name not in ctx.mappings:
            known = ", ".join(sorted(ctx.mappings)) or "none"
            raise InputError("sync", f"no mapping named {name!r} (known: {known})")
    chosen = list(names) if names else [n for n, m in ctx.mappings.items() if m.enabled]
    return [run_mapping(ctx, name, **options) for name in ordered(ctx.mappings, chosen)]
