"""``sync_run`` rows: opened when a cycle starts, closed with its counts, cost and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from core.clock import utcnow
from core.models import SyncLease, SyncRun
from core.models.sync import RunCounts
from core.redaction import redact
from jobs.report import RunReport

#: Every status a ``sync_run`` row can hold. ``crashed``: its process died and another one
#: closed it on taking the mapping over; ``interrupted``: stopped for shutdown mid-page;
#: ``abandoned``: it lost its lease (its heartbeat stopped too long) and stopped before writing.
RUN_STATUSES = (
    "running",
    "success",
    "partial",
    "failed",
    "braked",
    "paused",
    "crashed",
    "interrupted",
    "abandoned",
)


def open_run(engine: Engine, mapping: str, trigger: str, holder: str | None = None) -> int:
    """Insert a running ``sync_run`` row now, so a crashed cycle is still visible afterwards.

    ``holder`` is the lease holder running it: whoever finds that holder dead closes the run.
    The lease names the run in the same transaction, so a holder killed at any moment leaves
    either no run or a run its lease points at, never a running row nobody can name.
    """
    with Session(engine) as session:
        run = SyncRun(
            mapping=mapping, trigger=trigger, status="running", started_at=utcnow(), holder=holder
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        if holder is not None:
            session.exec(  # type: ignore[call-overload]
                update(SyncLease)
                .where(col(SyncLease.mapping) == mapping, col(SyncLease.holder) == holder)
                .values(run_id=run.id)
            )
        session.commit()
        return run.id


def close_run(engine: Engine, report: RunReport) -> None:
    """Write the report's counts, cost, duration and outcome onto its row."""
    if report.run_id is None:
        return
    with Session(engine) as session:
        run = session.get(SyncRun, report.run_id)
        if run is None:
            return
        for name in (*RunCounts.model_fields, "status", "backlog", "duration_ms"):
            setattr(run, name, getattr(report, name))
        # The message may quote a remote system or an exception: never a secret in the row.
        run.message = redact(report.message) if report.message else report.message
        run.finished_at = utcnow()
        session.add(run)
        session.commit()


def close_unfinished(
    session: Session, where: Any, status: str, message: str, now: datetime
) -> None:
    """Close runs matching ``where`` that are still ``running``, in the caller's transaction.

    Their cycle will not close them: its process died, or is being left behind at shutdown.
    """
    session.exec(  # type: ignore[call-overload]
        update(SyncRun)
        .where(where, col(SyncRun.status) == "running")
        .values(status=status, finished_at=now, message=message)
    )
