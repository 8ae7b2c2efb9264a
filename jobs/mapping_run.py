"""One mapping's run, opened once and driven phase by phase: lease, run row, connector, cycle.

A run of one mapping pulls, then pushes. A run of several (``syncline sync``, the demo) opens
them all, pulls every one, then pushes every one: a change read from Salesforce is in the hub
before the Dynamics mappings push, so it reaches Dynamics in the same run instead of the next.
Either way each mapping keeps one lease, one run row and one report for the whole run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from sqlalchemy.engine import Engine

from attribution.config import AttributionSettings
from connectors.base import Connector
from connectors.errors import ConnectorError, ErrorKind
from core import shutdown
from core.clock import utcnow
from core.db import UNREACHABLE
from core.db import session as db_session
from core.errors import InputError
from core.hubschema import HubSchema
from core.logs import bound, event, get_logger
from core.models.sync import RUN_COUNTERS
from jobs import lease
from jobs.backfill import scope as backfill_scope
from jobs.backfill.phases import BackfillPull, BackfillPush, estimate
from jobs.backfill.scope import Backfill, Resync
from jobs.budget import over_budget, record_usage
from jobs.crashes import crash_failure, traceback_tail
from jobs.cycle import Cycle, MassChangeBraked, Progress, pending_pushes
from jobs.failures import JOB_DIRECTION, Failure, FailureLog
from jobs.hard_deletes import pull_hard_deletes
from jobs.proxies import DryRunConnector, GuardedConnector
from jobs.pull import PullPhase
from jobs.push import PushPhase
from jobs.report import RunReport
from jobs.runs import close_run, open_run
from lifecycle.spec import Lifecycle
from mappings.spec import Mapping
from scoring.spec import Scoring
from touches.programs import Programs

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
    #: Channels and member statuses (programs.yaml) for the hub steps after the pulls
    #: (jobs.hub_steps); None: those steps do not run.
    programs: Programs | None = None
    #: The attribution models (attribution.yaml), recomputed after the member touches so the
    #: pushes send fresh Campaign Influence; None: attribution waits (a file that does not load).
    attribution: AttributionSettings | None = None
    #: The scoring rules (scoring.yaml), run after the member touches so a new touch's points
    #: are in the scores the pushes send; None: scores stay as they are.
    scoring: Scoring | None = None
    #: The lifecycle stages and AQL rule (lifecycle.yaml), run after scoring (its thresholds
    #: read the scores); None: stages stay as they are.
    lifecycle: Lifecycle | None = None


@dataclass(slots=True)
class ActiveCycle:
    """A cycle running in this process: what a forced stop must close and give back."""

    mapping: str
    holder: str
    run_id: int | None = None


class _PausedError(Exception):
    """The connection is over its API budget: this cycle does not start."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class MappingRun:
    """A mapping's run from lease to report: ``open``, then ``pull``/``push``, then ``close``.

    Every remote or configuration failure ends the run's phases and becomes its status and a
    job-level error; nothing escapes but an unreachable database (the caller reports that).
    """

    def __init__(
        self,
        ctx: SyncContext,
        name: str,
        *,
        trigger: str = "manual",
        dry_run: bool = False,
        allow_mass_change: bool = False,
        progress: Progress | None = None,
        wait: float = 0.0,
        register: Callable[[str, str | None], ActiveCycle | None] | None = None,
        unregister: Callable[[ActiveCycle | None], None] | None = None,
        resync: Resync | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.mapping = ctx.mappings[name]
        self.trigger = trigger
        self.dry_run = dry_run
        self.allow_mass_change = allow_mass_change
        self.progress = progress
        self.wait = wait
        #: A resync asked for in this process only (a dry run's): no request row holds it.
        self.resync = resync
        self.report = RunReport(mapping=name, dry_run=dry_run)
        self.holder = None if dry_run else lease.new_holder()
        self._register = register
        self._unregister = unregister
        self._active: ActiveCycle | None = None
        self._claimed = False
        self._started = time.monotonic()
        self._heartbeat: lease.Heartbeat | None = None
        self._connector: Connector | None = None
        self._cycle: Cycle | None = None
        #: What this run backfills (jobs.backfill), once open; None: nothing.
        self._backfill: Backfill | None = None
        #: Hub ids the backfill pull found the remote must be corrected for.
        self._corrections: set[str] = set()
        #: Whether ``run.started`` was logged: then ``close`` writes the outcome.
        self._opened = False
        #: True once the run can do no more phases (not started, failed, stopped).
        self._over = True

    # -- the three steps ----------------------------------------------------------------------

    def open(self) -> bool:
        """Claim the lease, open the run row and the connector; False when it cannot run."""
        report = self.report
        if not self.mapping.enabled:
            report.status, report.message = "disabled", "mapping is disabled (enabled: false)"
            return False
        self._started = time.monotonic()
        with shutdown.bound(self.ctx.stopping):
            if self.holder is not None and not self._claim():
                return False
        self._claimed = True
        if self._register is not None:  # from the lease on: a stop waits for this run
            self._active = self._register(self.name, self.holder)
        stopping = self.ctx.stopping
        if stopping is not None and stopping.is_set():
            # The stop came between the scheduler starting this job and now: a run begun
            # after the process said it stopped would outlive that word.
            report.status, report.message = "interrupted", "not started: shutting down"
            return False
        report.run_id = None if self.dry_run else open_run(
            self.ctx.engine, self.name, self.trigger, self.holder
        )
        if self.holder is not None and report.run_id is not None:
            self._heartbeat = lease.Heartbeat(
                self.ctx.engine, self.name, self.holder, lease.ttl_from_env()
            ).start()
        if self._active is not None:
            self._active.run_id = report.run_id
        with self._logged():
            event(log, "run.started", trigger=self.trigger, dry_run=self.dry_run)
            self._opened = True
            self._over = False
            with self._failures():
                self._cycle = self._start_cycle()
                self._backfill = self._due_backfill(self._cycle)
        return not self._over

    def pull(self) -> None:
        """The to_hub phase, if the mapping pulls and the run is still going."""
        cycle = self._cycle
        if cycle is not None and not self._over and self.mapping.direction.pulls:
            with self._logged(), self._failures():
                pull = PullPhase(cycle)
                pull.run()
                if not cycle.stop_requested():
                    pull_hard_deletes(cycle, pull)
                backfill = self._backfill
                if backfill is not None and backfill.pulls and not cycle.stop_requested():
                    part = BackfillPull(cycle, backfill)
                    part.run()
                    self._corrections = part.corrections

    def push(self) -> None:
        """The to_remote phase, if the mapping pushes and the run is still going; the backfill.

        The backfill push follows the normal one, which has sent the records that changed
        (their backfilled fields with them), so it writes only to records that did not.
        """
        cycle = self._cycle
        if cycle is None or self._over or cycle.stop_requested():
            return
        with self._logged(), self._failures():
            if self.mapping.direction.pushes:
                PushPhase(cycle).run()
            if self._backfill is not None and not cycle.stop_requested():
                self._finish_backfill(cycle, self._backfill)

    def close(self) -> RunReport:
        """Settle the status, write the run row and usage, give the lease back; the report."""
        report = self.report
        try:
            if self._opened:
                with self._logged():
                    self._finish()
        finally:
            try:
                if self._heartbeat is not None:
                    self._heartbeat.stop()
                if self._cycle is not None:
                    self._cycle.close()
                if self._connector is not None:
                    self._connector.close()
            finally:
                try:
                    if self.holder is not None and self._claimed:
                        lease.release(self.ctx.engine, self.name, self.holder)
                finally:
                    if self._unregister is not None:
                        self._unregister(self._active)
        return report

    # -- inside -------------------------------------------------------------------------------

    def _due_backfill(self, cycle: Cycle) -> Backfill | None:
        """The backfill this run owes, if any; fingerprints with nothing to send stored now.

        A dry run only estimates it: it reads and writes nothing for it.
        """
        with cycle.transaction() as session:
            found = backfill_scope.due(session, self.mapping, self.resync)
            if found is not None and found.fields and self.dry_run:
                self.report.backfill.append(estimate(session, cycle, found))
        if found is None or self.dry_run:
            return None
        if not found.fields:  # first sight of the mapping, a row removed: only remember it
            with cycle.transaction() as session:
                backfill_scope.finish(session, found, now=cycle.now, run_id=self.report.run_id)
            return None
        event(log, "backfill.started", fields=",".join(found.fields),
              since=found.since.isoformat() if found.since else None)
        return found

    def _finish_backfill(self, cycle: Cycle, backfill: Backfill) -> None:
        """Send the backfilled fields, then store the fingerprints: only once all went out."""
        sent = 0
        if backfill.pushes:
            part = BackfillPush(cycle, backfill, self._corrections)
            part.run()
            sent = part.handled
            if cycle.stop_requested():
                return  # the fingerprints stay as they were: the next cycle goes on with it
        with cycle.transaction() as session:
            backfill_scope.finish(session, backfill, now=cycle.now, run_id=self.report.run_id)
        self._backfill = None
        self.report.backfill.append(
            f"backfill: {sent} records × fields [{', '.join(backfill.fields)}] done"
        )
        event(log, "backfill.finished", fields=",".join(backfill.fields), records=sent)

    def _claim(self) -> bool:
        """Take the lease, waiting up to ``wait`` seconds; say who holds it if we cannot."""
        assert self.holder is not None
        ctx, report = self.ctx, self.report
        deadline = time.monotonic() + self.wait
        while True:
            claim = lease.acquire(ctx.engine, self.name, self.holder)
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
        report.backlog = pending_pushes(ctx.engine, self.mapping)
        holder = claim.other.holder if claim.other else None
        event(log, "run.locked", mapping=self.name, holder=holder)
        return False

    def _start_cycle(self) -> Cycle:
        ctx, mapping = self.ctx, self.mapping
        connector = ctx.connect(mapping.connection)
        self._connector = connector
        paused = over_budget(ctx.engine, mapping.connection, connector, utcnow())
        if paused is not None:
            raise _PausedError(paused)
        if self.dry_run:
            connector = DryRunConnector(connector)
        elif self.holder is not None:
            connector = GuardedConnector(
                connector, partial(_still_held, ctx.engine, self.name, self.holder,
                                   self._heartbeat)
            )
        self._connector = connector
        return Cycle(
            ctx.engine,
            mapping,
            ctx.mappings,
            connector,
            ctx.schema,
            self.report,
            now=utcnow(),
            run_id=self.report.run_id,
            holder=self.holder,
            dry_run=self.dry_run,
            allow_mass_change=self.allow_mass_change,
            progress=self.progress,
            stopping=ctx.stopping,
            programs=ctx.programs,
        )

    def _finish(self) -> None:
        ctx, report, connector = self.ctx, self.report, self._connector
        if not self._over:  # every phase ran to its end
            report.status = "partial" if report.failed else "success"
            if not self.dry_run:  # the run completed: whatever stopped earlier ones is over
                with db_session(ctx.engine) as session:
                    FailureLog(
                        session, self.name, JOB_DIRECTION, report.run_id, utcnow()
                    ).resolve_job_errors()
            if self._cycle is not None and self._cycle.stop_requested():
                report.message = "stopped early for shutdown; the next cycle continues"
        report.api_calls = connector.api_calls if connector is not None else 0
        if connector is not None and not self.dry_run:
            record_usage(ctx.engine, self.mapping.connection, connector.usage(), utcnow())
        if isinstance(connector, DryRunConnector):
            report.planned_write_calls = connector.planned_write_calls
        report.duration_ms = int((time.monotonic() - self._started) * 1000)
        if not self.dry_run:
            close_run(ctx.engine, report)
        event(
            log,
            "run.finished",
            status=report.status,
            **{counter.name: getattr(report, counter.name) for counter in RUN_COUNTERS},
            duration_ms=report.duration_ms,
        )

    @contextmanager
    def _logged(self) -> Iterator[None]:
        with shutdown.bound(self.ctx.stopping), bound(mapping=self.name, run=self.report.run_id):
            yield

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Turn whatever stops a phase into the run's status and a job-level error."""
        report, mapping = self.report, self.mapping
        try:
            yield
            return
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
            self._job_failure(
                "braked",
                Failure(
                    ErrorKind.CONFIG,
                    str(exc),
                    code=MassChangeBraked.code,
                    hint=f"check what changed in {mapping.connection}; if it is intended, "
                    f"run `syncline sync {self.name} --allow-mass-change` once or raise "
                    "deletes.max_fraction",
                ),
            )
        except _PausedError as exc:
            self._job_failure("paused", exc.failure)
        except ConnectorError as exc:
            self._job_failure("failed", Failure.from_error(exc))
        except InputError as exc:
            self._job_failure("failed", Failure(ErrorKind.CONFIG, str(exc)))
        except UNREACHABLE:
            raise  # the database is gone: nothing to record here; the scheduler reports it
        except Exception as exc:  # a bug must not take the scheduler down with it
            # One clear line for the page and the log; never the driver's text, which
            # carries the statement's parameters (jobs.crashes).
            crash = crash_failure(exc)
            trace = " < ".join(reversed(traceback_tail(exc)))  # innermost frame first
            event(log, "run.crashed", error=crash.message, trace=trace)
            self._job_failure("failed", crash)
        self._over = True

    def _job_failure(self, status: str, failure: Failure) -> None:
        """Record a job-level error (one row per mapping + cause) and mark the run."""
        report = self.report
        report.status = status
        report.message = failure.message
        event(log, "run." + status, kind=str(failure.kind), code=failure.code,
              error=failure.message)
        if self.dry_run:
            return
        with db_session(self.ctx.engine) as session:
            FailureLog(session, report.mapping, JOB_DIRECTION, report.run_id, utcnow()).record(
                failure, level="job"
            )


def _still_held(
    engine: Engine, name: str, holder: str, heartbeat: lease.Heartbeat | None
) -> None:
    """Raise LeaseLost unless the lease still names us (asked before every remote write)."""
    if (heartbeat is not None and heartbeat.lost.is_set()) or not lease.still_ours(
        engine, name, holder
    ):
        raise lease.LeaseLost(f"lease on {name!r} was taken over by another process")
