"""Hub database outages as the scheduler's jobs see them: one line each, a report afterwards.

A job that cannot reach the database logs one structured event (no traceback, no connection
string) and is skipped. Once the database answers again, every mapping that missed cycles gets
one job-level ``DATABASE_UNAVAILABLE`` error saying for how long, and the periodic jobs that
failed meanwhile are run again at once instead of a day later.
"""

from __future__ import annotations

import functools
import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine

from connectors.errors import ErrorKind
from core.clock import utcnow
from core.db import UNREACHABLE, describe_error, session
from core.logs import event, get_logger
from core.redaction import redact
from jobs.failures import JOB_DIRECTION, Failure, FailureLog

log = get_logger("scheduler")

OUTAGE_CODE = "DATABASE_UNAVAILABLE"

P = ParamSpec("P")
R = TypeVar("R")


class Outage:
    """Whether the hub database is down for the scheduler, since when, and what it cost."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.since: datetime | None = None
        self.last_error: str | None = None
        #: mapping → scheduled cycles it missed during the outage
        self.missed: dict[str, int] = {}
        #: ids of jobs that failed during the outage, to run again once it is over
        self.failed_jobs: set[str] = set()
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, job_id: str, mapping: str | None, exc: BaseException) -> None:
        """A job could not reach the database: one event, no traceback."""
        error = redact(describe_error(exc, self.engine))
        with self._lock:
            first = self.since is None
            if first:
                self.since = utcnow()
            self.last_error = error
            self.failed_jobs.add(job_id)
            if mapping is not None:
                self.missed[mapping] = self.missed.get(mapping, 0) + 1
        event(
            log,
            "database.unavailable" if first else "job.skipped",
            level=logging.ERROR if first else logging.WARNING,
            job=job_id,
            mapping=mapping,
            reason="database unavailable",
            error=error,
        )

    def probe(self) -> list[str]:
        """While down, ask the database once; if it answers, report the outage (see recovered)."""
        if not self.down:
            return []
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1 FROM sync_lease WHERE 1 = 0"))
        except UNREACHABLE:
            return []
        return self.recovered()

    def recovered(self) -> list[str]:
        """The database is back: record the outage per mapping; return the jobs to run again."""
        with self._lock:
            if self.since is None:
                return []
            since, missed, error = self.since, dict(self.missed), self.last_error
            jobs = sorted(self.failed_jobs)
            self.since, self.missed, self.failed_jobs = None, {}, set()
        now = utcnow()
        seconds = int((now - since).total_seconds())
        try:
            with session(self.engine) as db:
                for mapping, count in sorted(missed.items()):
                    FailureLog(db, mapping, JOB_DIRECTION, None, now).record(
                        _report(since, now, count, error), level="job"
                    )
        except UNREACHABLE as exc:  # gone again at once: keep the outage open
            with self._lock:
                self.since = since
                self.missed = {k: self.missed.get(k, 0) + v for k, v in missed.items()}
                self.failed_jobs |= set(jobs)
            self.last_error = redact(describe_error(exc, self.engine))
            return []
        event(
            log, "database.recovered", seconds=seconds, mappings=len(missed), rerun=",".join(jobs)
        )
        return jobs


def _report(since: datetime, now: datetime, missed: int, error: str | None) -> Failure:
    seconds = int((now - since).total_seconds())
    return Failure(
        ErrorKind.SYSTEM,
        f"the hub database could not be reached from {since:%Y-%m-%d %H:%M:%S} to "
        f"{now:%H:%M:%S} UTC ({_duration(seconds)}); {missed} scheduled "
        f"cycle{'s' if missed != 1 else ''} of this mapping did not run. Last error: {error}",
        code=OUTAGE_CODE,
        hint="nothing was lost: the first cycle after the outage went on from the last committed "
        "page. If outages repeat, check the database server behind DATABASE_URL. Ignore this "
        "error once you have seen it",
    )


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


_outages: weakref.WeakKeyDictionary[Engine, Outage] = weakref.WeakKeyDictionary()
_outages_lock = threading.Lock()


def outage_for(engine: Engine) -> Outage:
    """The one outage tracker of an engine (every scheduler job of a process shares it)."""
    with _outages_lock:
        tracker = _outages.get(engine)
        if tracker is None:
            tracker = _outages[engine] = Outage(engine)
        return tracker


def guarded(
    job_id: Callable[..., tuple[str, str | None]],
) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """Make a scheduler job report a database outage as one event instead of a traceback.

    ``job_id(*args)`` names the job and the mapping it runs (or None); the job's first
    argument has the ``engine``. Any other exception is logged as one event with its traceback
    and swallowed, so APScheduler never prints one of its own.
    """

    def wrap(fn: Callable[P, R]) -> Callable[P, R | None]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
            engine: Engine = args[0].engine  # type: ignore[attr-defined]
            name, mapping = job_id(*args)
            tracker = outage_for(engine)
            try:
                result = fn(*args, **kwargs)
            except UNREACHABLE as exc:
                tracker.failed(name, mapping, exc)
                return None
            except Exception as exc:  # a bug in a job must not reach APScheduler's logger
                event(
                    log,
                    "job.failed",
                    level=logging.ERROR,
                    job=name,
                    mapping=mapping,
                    error=redact(f"{type(exc).__name__}: {exc}"),
                    trace=redact(traceback.format_exc(limit=5)),
                )
                return None
            return result

        return run

    return wrap
