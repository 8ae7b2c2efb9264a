"""A lease per mapping in the database, so one mapping's cycle never runs twice at once.

It holds across processes and hosts (the scheduler, a manual ``syncline sync``, a Celery worker)
because acquiring is one conditional write the database serialises: insert the row, or swap the
holder only where the row still names the dead holder we saw.

A holder keeps its lease alive with a heartbeat thread while its cycle runs, however long one
call or one Bulk job takes. A dead holder is taken over promptly: on the same host its pid is
checked at once; elsewhere its heartbeat stops and the lease expires after ``ttl`` (a minute by
default, ``SYNCLINE_LEASE_TTL_SECONDS``). The run it left behind is closed as ``crashed``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.errors import InputError
from core.logs import event, get_logger
from core.models import SyncLease, SyncRun
from jobs.runs import close_unfinished

log = get_logger("lease")

#: How long a lease outlives its last heartbeat: the takeover delay for a holder on another
#: host that died (same-host holders are checked by pid at once).
TTL_ENV = "SYNCLINE_LEASE_TTL_SECONDS"
DEFAULT_TTL = timedelta(seconds=60)
#: The name a holder records for its host; defaults to the hostname. Containers that share a
#: hostname but not a pid namespace must set it, or they would judge each other's pids.
HOST_ENV = "SYNCLINE_HOST_ID"

#: Holders alive in this process: a lease row naming our own pid but none of these is a
#: leftover of an earlier process that had the same pid (pid 1 in a container, say).
_active: set[str] = set()
_active_lock = threading.Lock()


def ttl_from_env() -> timedelta:
    """The lease TTL: ``SYNCLINE_LEASE_TTL_SECONDS`` (at least 2 s) or a minute."""
    raw = os.environ.get(TTL_ENV)
    if not raw:
        return DEFAULT_TTL
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0
    if seconds < 2:
        raise InputError(TTL_ENV, f"expected a number of seconds >= 2, got {raw!r}")
    return timedelta(seconds=seconds)


def this_host() -> str:
    """The host name a lease records for this process."""
    return os.environ.get(HOST_ENV) or socket.gethostname()


def new_holder() -> str:
    """An id naming this process (host, pid) and this attempt."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _parts(holder: str) -> tuple[str | None, int | None]:
    host, _, rest = holder.rpartition(":")  # host:pid:attempt; hosts may hold colons (IPv6)
    host, _, pid = host.rpartition(":")
    return (host or None, int(pid)) if pid.isdigit() else (None, None)


@dataclass(frozen=True, slots=True)
class HolderInfo:
    """Who holds (or held) a mapping's lease, as an admin needs to hear it."""

    mapping: str
    holder: str
    host: str | None
    pid: int | None
    since: datetime
    expires_at: datetime
    heartbeat_at: datetime | None
    run_id: int | None

    @classmethod
    def of(cls, row: SyncLease) -> HolderInfo:
        host, pid = _parts(row.holder)
        return cls(
            row.mapping,
            row.holder,
            row.host or host,
            row.pid if row.pid is not None else pid,
            row.acquired_at,
            row.expires_at,
            row.heartbeat_at,
            row.run_id,
        )

    def describe(self) -> str:
        """``host 'h' pid 12 (run 7) since 10:01:02 UTC, lease expires 10:02:05 UTC``."""
        who = f"host {self.host or '?'!r} pid {self.pid if self.pid is not None else '?'}"
        run = f" (run {self.run_id})" if self.run_id else ""
        return (
            f"{who}{run} since {_clock(self.since)}, lease expires "
            f"{_clock(self.expires_at)} unless its heartbeat renews it"
        )


def _clock(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to ``acquire``: truthy when we hold the lease now."""

    acquired: bool
    #: When refused: the live holder. When acquired by takeover: the dead one we replaced.
    other: HolderInfo | None = None
    #: Why the other holder was judged dead (takeovers only).
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.acquired


class LeaseLost(RuntimeError):  # noqa: N818 - an event, not a malfunction
    """Another process took the mapping over (our heartbeat stopped for longer than the TTL)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but it exists
    try:  # a killed child its parent has not reaped yet still answers kill(0): a zombie
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def why_dead(row: SyncLease, now: datetime) -> str | None:
    """Why the row's holder cannot be running any more, or None while it may be."""
    info = HolderInfo.of(row)
    if row.expires_at < now:
        beat = info.heartbeat_at or info.since
        return f"no heartbeat since {_clock(beat)}: the lease expired at {_clock(row.expires_at)}"
    if info.host == this_host() and info.pid is not None:
        if info.pid == os.getpid():
            with _active_lock:
                if row.holder not in _active:
                    return f"pid {info.pid} is this process now, which did not take this lease"
        elif not _pid_alive(info.pid):
            return f"process {info.pid} on this host is not running"
    return None


def acquire(
    engine: Engine,
    mapping: str,
    holder: str,
    ttl: timedelta | None = None,
) -> Claim:
    """Take the lease if nobody holds it or its holder is dead; say who holds it otherwise."""
    ttl = ttl if ttl is not None else ttl_from_env()
    host, pid = _parts(holder)
    for _ in range(3):  # a race with another taker is settled by re-reading the row
        now = utcnow()
        fresh = {
            "holder": holder,
            "acquired_at": now,
            "expires_at": now + ttl,
            "heartbeat_at": now,
            "host": host,
            "pid": pid,
            "run_id": None,  # open_run names it once the run is open
        }
        with Session(engine) as session:
            session.add(SyncLease(mapping=mapping, **fresh))
            try:
                session.commit()
                _mark_active(holder)
                return Claim(True)
            except IntegrityError:
                session.rollback()
            row = session.get(SyncLease, mapping)
            if row is None:
                continue  # released between our insert and our read: insert again
            if row.holder == holder:
                reason = None
            else:
                reason = why_dead(row, now)
                if reason is None:
                    return Claim(False, HolderInfo.of(row))
            dead = HolderInfo.of(row)
            swapped = session.exec(  # type: ignore[call-overload]
                update(SyncLease)
                .where(col(SyncLease.mapping) == mapping, col(SyncLease.holder) == row.holder)
                .values(**fresh)
            ).rowcount
            if swapped != 1:
                session.rollback()
                continue
            if reason is not None:
                close_unfinished(
                    session, _run_of(dead), "crashed", _crashed(reason, holder, now), now
                )
            session.commit()
            _mark_active(holder)
            if reason is None:
                return Claim(True)
            event(
                log,
                "lease.taken_over",
                mapping=mapping,
                dead_holder=dead.holder,
                dead_run=dead.run_id,
                reason=reason,
            )
            return Claim(True, dead, reason)
    with Session(engine) as session:
        row = session.get(SyncLease, mapping)
        return Claim(False, HolderInfo.of(row) if row is not None else None)


def _run_of(dead: HolderInfo) -> Any:
    """The condition naming a dead holder's run (by its id, or by holder for older leases)."""
    if dead.run_id is not None:
        return col(SyncRun.id) == dead.run_id
    return (col(SyncRun.holder) == dead.holder) & (col(SyncRun.mapping) == dead.mapping)


def _crashed(reason: str, taker: str, now: datetime) -> str:
    """The closed run's message: why its holder was judged dead, and who took over when."""
    taker_host, taker_pid = _parts(taker)
    return (
        f"did not finish: {reason}. Taken over at {_clock(now)} by host {taker_host!r} pid "
        f"{taker_pid}; what this run had not committed is redone by the next cycle"
    )


def renew(session: Session, mapping: str, holder: str, ttl: timedelta | None = None) -> None:
    """Extend our lease inside the caller's transaction; LeaseLost if it is no longer ours.

    Renewing in the same transaction as a page's writes means a page is only committed by the
    process that still holds the lease.
    """
    now = utcnow()
    result = session.exec(  # type: ignore[call-overload]
        update(SyncLease)
        .where(col(SyncLease.mapping) == mapping, col(SyncLease.holder) == holder)
        .values(expires_at=now + (ttl if ttl is not None else ttl_from_env()), heartbeat_at=now)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"lease on {mapping!r} was taken over by another process")


def still_ours(engine: Engine, mapping: str, holder: str) -> bool:
    """Whether the lease still names us (checked before every remote write)."""
    with Session(engine) as session:
        row = session.get(SyncLease, mapping)
        return row is not None and row.holder == holder


def holder_of(engine: Engine, mapping: str) -> HolderInfo | None:
    """Who holds a mapping's lease now (live or not), or None."""
    with Session(engine) as session:
        row = session.get(SyncLease, mapping)
        return HolderInfo.of(row) if row is not None else None


def release(engine: Engine, mapping: str, holder: str) -> None:
    """Give the lease back (only if it is still ours)."""
    try:
        with Session(engine) as session:
            session.exec(  # type: ignore[call-overload]
                delete(SyncLease).where(
                    col(SyncLease.mapping) == mapping, col(SyncLease.holder) == holder
                )
            )
            session.commit()
    finally:
        _forget(holder)


def _mark_active(holder: str) -> None:
    with _active_lock:
        _active.add(holder)


def _forget(holder: str) -> None:
    with _active_lock:
        _active.discard(holder)


def reap(engine: Engine, now: datetime | None = None) -> list[int]:
    """Close runs left ``running`` by dead holders; free their leases. Returns the run ids.

    A cycle killed with no later attempt at its mapping would otherwise show ``running``
    forever; the scheduler calls this every few seconds, and ``acquire`` does the same for the
    one mapping it takes.
    """
    now = now or utcnow()
    closed: list[int] = []
    with Session(engine) as session:
        running = list(session.exec(select(SyncRun).where(col(SyncRun.status) == "running")))
        if not running:
            return []
        leases = {row.mapping: row for row in session.exec(select(SyncLease))}
        for run in running:
            row = leases.get(run.mapping)
            if row is not None and row.holder == run.holder:
                reason = why_dead(row, now)
                if reason is None:
                    continue  # its holder is alive: the run is really running
                freed = session.exec(  # type: ignore[call-overload]
                    delete(SyncLease).where(
                        col(SyncLease.mapping) == row.mapping,
                        col(SyncLease.holder) == row.holder,
                    )
                ).rowcount
                if freed != 1:
                    continue
            elif run.holder is None and row is not None:
                continue  # a run from before holders were recorded: judge it by its lease
            else:
                # Its holder no longer holds the lease: it died and someone else moved on,
                # or the lease was released without the run being closed.
                reason = "its process stopped without closing it (its lease is gone)"
            message = _crashed(reason, new_holder(), now)
            close_unfinished(session, col(SyncRun.id) == run.id, "crashed", message, now)
            closed.append(run.id)  # type: ignore[arg-type]
        session.commit()
    for run_id in closed:
        event(log, "run.crashed_closed", run=run_id)
    return closed


class Heartbeat:
    """Renews a held lease every ``ttl / 4`` on its own thread; ``lost`` is set if it is gone.

    A database error is logged once and retried at the next beat: while the database is down
    nobody else can take the lease either, and once it is back the next beat tells.
    """

    def __init__(self, engine: Engine, mapping: str, holder: str, ttl: timedelta) -> None:
        self.engine = engine
        self.mapping = mapping
        self.holder = holder
        self.ttl = ttl
        self.interval = max(ttl.total_seconds() / 4, 0.2)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"lease-heartbeat:{mapping}", daemon=True
        )

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def beat(self) -> bool:
        """Renew once; False (and ``lost`` set) when the lease is no longer ours."""
        try:
            with Session(self.engine) as session:
                renew(session, self.mapping, self.holder, self.ttl)
                session.commit()
        except LeaseLost:
            self.lost.set()
            event(log, "lease.lost", mapping=self.mapping, holder=self.holder)
            return False
        except SQLAlchemyError as exc:
            event(log, "lease.heartbeat_failed", mapping=self.mapping, error=type(exc).__name__)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.beat():
                return
