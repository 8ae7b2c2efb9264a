"""Replaying a stored request: its errors due now, then its mappings run again.

The same path as the dashboard's retry of an error (jobs.triage.retry, with an audit entry):
the pull's retry step re-reads the record by its inbox id and applies it with the mapping as
it is now (a fixed field rule, a transform added). ``syncline hooks replay ID`` runs the
mappings at once; the dashboard's Replay button hands them to the web process's worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.db import session
from core.errors import InputError
from core.models import InboundEvent, SyncError
from inbound.progress import PULL, State, progress, readers
from jobs import triage
from jobs.failures import ERROR_STATUSES, OPEN_STATUSES
from mappings.spec import Mapping as MappingSpec


@dataclass(frozen=True, slots=True)
class Replay:
    """A request queued for replay: its source, the mappings that read it, errors made due."""

    inbox_id: int
    source: str
    mappings: list[str]
    retried: int


def prepare(
    engine: Engine, mappings: Mapping[str, MappingSpec], inbox_id: int, actor: str
) -> Replay:
    """Make the request's errors due now; InputError for an unknown id or a source nobody reads."""
    with session(engine) as db:
        found = db.get(InboundEvent, inbox_id)
        if found is None:
            raise InputError("replay", f"no stored request has id {inbox_id} (it may have been "
                             "purged a week after it was processed)")
        source = found.source
    names = readers(mappings, source)
    if not names:
        raise InputError("replay", f"no enabled mapping reads source {source!r} (connection: "
                         f"{source}, remote_object: submission, direction to_hub or both)")
    ids = error_ids(engine, names, inbox_id)
    retried = 0
    if ids:
        where = triage.ErrorFilter(ids=ids, status=ERROR_STATUSES)
        retried = triage.retry(engine, where, actor)
    return Replay(inbox_id, source, names, retried)


def error_ids(engine: Engine, names: list[str], inbox_id: int) -> list[int]:
    """The record-level pull errors of one request in the mappings ``names``."""
    with session(engine) as db:
        return [i for i in db.exec(select(SyncError.id).where(
            col(SyncError.mapping).in_(names), SyncError.direction == PULL,
            SyncError.level == "record", SyncError.remote_id == str(inbox_id),
        )).all() if i is not None]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a request stands: its state and the messages of its open errors."""

    state: State
    messages: list[str]


def outcome(engine: Engine, replay: Replay) -> Outcome:
    """Where the replayed request stands now."""
    with session(engine) as db:
        state = progress(db, replay.mappings).state(replay.inbox_id)
        messages = list(db.exec(select(SyncError.message).where(
            col(SyncError.mapping).in_(replay.mappings), SyncError.direction == PULL,
            SyncError.remote_id == str(replay.inbox_id),
            col(SyncError.status).in_(OPEN_STATUSES),
        )).all())
    return Outcome(state, messages)
