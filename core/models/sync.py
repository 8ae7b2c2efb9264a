"""Sync bookkeeping tables: identity links with snapshots, cursors, runs, errors, audit, leases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Link(SQLModel, table=True):
    """A hub record ↔ a remote record on one connection, with the values both last agreed on.

    ``snapshot`` holds the mapped remote fields as the remote held them after the last sync
    (remote names and representation): the base of the three-way merge and the echo filter.
    ``pending`` holds the values of a write in flight, committed *before* the remote call: if
    the process dies after the remote applied it but before the snapshot was updated, the next
    read shows those values again, and matching them against this intent tells the merge they
    are our own write rather than an edit made over there. ``held`` maps a remote field with a
    ``manual`` conflict to the hub value at the moment it was recorded: while it is there
    neither side overwrites the other, and the next edit on either side settles it.
    """

    __table_args__ = (
        UniqueConstraint("connection", "remote_object", "remote_id", name="uq_link_remote"),
        UniqueConstraint("hub_object", "hub_id", "connection", "remote_object", name="uq_link_hub"),
    )

    id: int | None = Field(default=None, primary_key=True)
    hub_object: str = Field(max_length=40)
    hub_id: str = Field(max_length=32, index=True)
    connection: str = Field(max_length=80)
    remote_object: str = Field(max_length=80)
    remote_id: str = Field(max_length=255)
    mapping: str = Field(max_length=120, index=True)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    pending: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    held: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    remote_version: str | None = Field(default=None, max_length=255)
    synced_at: datetime | None = None


class SyncState(SQLModel, table=True):
    """The cursor of one mapping in one direction (``to_hub`` remote cursor, ``to_remote`` seq)."""

    __tablename__ = "sync_state"

    mapping: str = Field(primary_key=True, max_length=120)
    direction: str = Field(primary_key=True, max_length=16)
    cursor: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunCounter:
    """One count a sync cycle keeps, with the headings the dashboard and the CLI give it."""

    name: str
    heading: str  # the dashboard's column ("Created hub")
    short: str  # the CLI summary table's column ("+hub")
    records: bool = True  # counts records (not so ``api_calls``, the run's cost)


#: Every count a cycle keeps, in the order they are shown: the one list :class:`RunCounts`
#: (so the ``sync_run`` table and the run report), the CLI table, ``sync --json`` and the
#: dashboard's run pages are made from.
RUN_COUNTERS = (
    RunCounter("read", "Read", "read"),
    RunCounter("created_hub", "Created hub", "+hub"),
    RunCounter("updated_hub", "Updated hub", "~hub"),
    RunCounter("created_remote", "Created remote", "+remote"),
    RunCounter("updated_remote", "Updated remote", "~remote"),
    RunCounter("deleted", "Deleted", "deleted"),
    RunCounter("skipped", "Skipped", "skipped"),
    RunCounter("failed", "Failed", "failed"),
    RunCounter("api_calls", "API calls", "API calls", records=False),
)
#: The counters of records a run wrote, created or updated on either side: what "moved"
#: sums (the throughput charts, "a second run writes nothing"). Deletes are not counted.
MOVED_COUNTERS = ("created_hub", "updated_hub", "created_remote", "updated_remote")


class RunCounts(SQLModel):
    """The counts of one sync cycle (see RUN_COUNTERS): a run's row and its report share them."""

    read: int = 0
    created_hub: int = 0
    updated_hub: int = 0
    created_remote: int = 0
    updated_remote: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    api_calls: int = 0

    @property
    def moved(self) -> int:
        """Records created or updated on either side."""
        return sum(getattr(self, name) for name in MOVED_COUNTERS)


class SyncRun(RunCounts, table=True):
    """One sync cycle of one mapping: what it moved (its RunCounts), what it cost, how it ended."""

    __tablename__ = "sync_run"
    __table_args__ = (
        Index("ix_sync_run_mapping_started", "mapping", "started_at"),
        Index("ix_sync_run_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mapping: str = Field(max_length=120)
    trigger: str = Field(default="manual", max_length=20)  # manual | schedule | retry | demo
    # running | success | partial | failed | braked | paused | crashed
    status: str = Field(default="running", max_length=20)
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None
    backlog: int = 0  # hub changes still waiting to be pushed when the run ended
    message: str | None = Field(default=None, sa_type=Text)
    #: The lease holder (host:pid:attempt) that ran it: a run whose holder died is closed as
    #: crashed by whoever finds the lease dead.
    holder: str | None = Field(default=None, max_length=120)


class SyncError(SQLModel, table=True):
    """A record-level or job-level failure; one row per record + cause, updated on recurrence."""

    __tablename__ = "sync_error"
    # The errors pages at a million rows (bench/dashboard_pages.py): newest first in index order,
    # with status in the index so closed errors are skipped without reading their rows; one
    # mapping's errors the same way; every column the grouped view reads, for an index-only scan.
    __table_args__ = (
        Index("ix_sync_error_status_mapping", "status", "mapping"),
        Index("ix_sync_error_newest", "last_seen", "id", "status"),
        Index("ix_sync_error_mapping_newest", "mapping", "last_seen", "id", "status"),
        Index(
            "ix_sync_error_cause",
            "mapping",
            "direction",
            "level",
            "kind",
            "code",
            "field",
            "status",
            "last_seen",
            "id",
        ),
        Index("ix_sync_error_retry", "mapping", "status", "next_retry_at"),
        # A run's page lists its errors, and the purge detaches errors from old runs: both
        # scanned the whole table without this (373 ms for one run's page at 1M errors).
        Index("ix_sync_error_run", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64, unique=True)  # mapping+direction+record+kind+code+field
    mapping: str = Field(max_length=120)
    direction: str = Field(max_length=16)  # to_hub | to_remote
    level: str = Field(default="record", max_length=8)  # record | job
    hub_object: str | None = Field(default=None, max_length=40)
    hub_id: str | None = Field(default=None, max_length=32, index=True)
    remote_object: str | None = Field(default=None, max_length=80)
    remote_id: str | None = Field(default=None, max_length=255, index=True)
    email: str | None = Field(default=None, max_length=255, index=True)
    kind: str = Field(max_length=20)
    code: str | None = Field(default=None, max_length=80)
    field: str | None = Field(default=None, max_length=120)
    message: str = Field(sa_type=Text)  # the remote system's words, verbatim (redacted)
    hint: str | None = Field(default=None, sa_type=Text)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    attempts: int = 1
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="open", max_length=12)  # open | retrying | resolved | ignored
    first_seen: datetime
    last_seen: datetime
    next_retry_at: datetime | None = None
    resolved_at: datetime | None = None
    run_id: int | None = Field(default=None, foreign_key="sync_run.id")


class Audit(SQLModel, table=True):
    """Who changed what: a mapping edit, a retry, an ignore, a brake override."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60)
    target: str | None = Field(default=None, max_length=255)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class MappingRevision(SQLModel, table=True):
    """One saved version of a mapping file: who saved it, when, its full text and the diff.

    The history a dashboard editor restores from; the file on disk stays the source of truth.
    """

    __tablename__ = "mapping_revision"
    __table_args__ = (Index("ix_mapping_revision_mapping_at", "mapping", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    mapping: str = Field(max_length=120)
    file: str = Field(max_length=255)
    at: datetime
    actor: str = Field(max_length=120)
    action: str = Field(default="edit", max_length=20)  # edit | restore
    text: str = Field(sa_type=Text)  # the whole file after this change
    diff: str = Field(default="", sa_type=Text)  # unified diff from the previous text


class SyncLease(SQLModel, table=True):
    """Who is running a mapping's cycle right now, until when (one holder across all processes)."""

    __tablename__ = "sync_lease"

    mapping: str = Field(primary_key=True, max_length=120)
    holder: str = Field(max_length=120)
    acquired_at: datetime
    expires_at: datetime
    #: Where the holder runs: a holder on this host is checked for liveness by its pid at once.
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None
    run_id: int | None = None
    #: Last heartbeat; the heartbeat thread moves ``expires_at`` forward with it.
    heartbeat_at: datetime | None = None


class HubSequence(SQLModel, table=True):
    """The counter behind ``change_seq``; its row lock orders hub commits (core.sequence)."""

    __tablename__ = "hub_sequence"

    name: str = Field(primary_key=True, max_length=20)
    value: int = Field(default=0, sa_type=BigInteger)


class ConnectionStatus(SQLModel, table=True):
    """What we last learnt about a connection: its API allowance and its last health check.

    Connectors are built fresh for every cycle, so what one cycle saw (Salesforce's
    ``Sforce-Limit-Info``) is kept here for the next cycle's budget check and the dashboard.
    """

    __tablename__ = "connection_status"

    connection: str = Field(primary_key=True, max_length=80)
    api_used: int | None = None
    api_limit: int | None = None
    usage_at: datetime | None = None
    checked_at: datetime | None = None
    check_ok: bool | None = None
    check_message: str | None = Field(default=None, sa_type=Text)
