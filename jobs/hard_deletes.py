"""Records deleted for good in the remote: listed on their own cursor, deleted like any other.

Some remotes lose deletes from their change feed: a Salesforce record emptied from the
Recycle Bin (by an admin, by Apex, after its 15 days) or hard-deleted never appears in
``queryAll`` again. Such connectors list those deletes apart (``read_hard_deletes``). Where
the mapping's delete policy acts on remote deletes, a cycle asks for that list after its
normal read, at most every POLL_INTERVAL, and hands the linked records in it to the pull
phase as deletes: the policy, the mass-change brake, the report, errors and the dry-run plan
are the ones every remote delete goes through. Keys not linked (never were, or unlinked
already because the feed showed the delete first) cost nothing; the linked ones are looked up
once more (``lookup_deleted``), so a merged record still in the bin moves its link to its
master and one restored since keeps its link.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from connectors.base import Change, HardDeletes, Op
from connectors.errors import ErrorKind
from core.clock import as_utc
from core.models import SyncState
from jobs.cycle import Cycle, set_cursor
from jobs.failures import HARD_DELETE_GAP, JOB_DIRECTION, Failure
from jobs.links import LinkIndex
from jobs.pull import PullPhase
from mappings.spec import Mapping

#: The ``sync_state`` direction of the hard-delete cursor: its own, never the feed's.
CURSOR = "to_hub:deleted"
#: How often a mapping asks. Salesforce lists deletes in whole minutes and keeps them for
#: weeks: asking every cycle would only double what an idle cycle costs.
POLL_INTERVAL = timedelta(minutes=10)
#: Keys per hub query, and deletes per applied page.
CHUNK = 500


def pull_hard_deletes(cycle: Cycle, pull: PullPhase) -> None:
    """After ``pull`` read the feed: apply the remote's hard deletes of linked records."""
    mapping, connector = cycle.mapping, cycle.connector
    if mapping.deletes.from_remote == "ignore" or not connector.capabilities.hard_deletes:
        return
    with cycle.transaction() as session:
        state = session.get(SyncState, (mapping.name, CURSOR))
        if state is None:
            # The first cycle starts the clock; the first poll, an interval on, lists all the
            # remote still keeps (deletes from before Syncline ran included).
            set_cursor(session, mapping.name, CURSOR, None, cycle.now)
            return
        if not due(state.updated_at, cycle.now):
            return
        since = state.cursor
    found = connector.read_hard_deletes(mapping.remote_object, since, now=cycle.now)
    deletes = _deletes_of_linked(cycle, found.keys)
    cycle.report.read += len(deletes)
    for start in range(0, len(deletes), CHUNK):
        with cycle.transaction() as session:
            pull.apply(session, deletes[start:start + CHUNK])
    with cycle.transaction() as session:
        if found.gap is not None and not cycle.dry_run:
            cycle.failures(session, JOB_DIRECTION).record(gap_failure(mapping, found), level="job")
        set_cursor(session, mapping.name, CURSOR, found.cursor, cycle.now)


def due(last: datetime | None, now: datetime) -> bool:
    """Whether a poll is due, the last one having been at ``last`` (None: never)."""
    return last is None or now - as_utc(last) >= POLL_INTERVAL


def _deletes_of_linked(cycle: Cycle, keys: Sequence[str]) -> list[Change]:
    """Deletes for the listed keys linked in this mapping, as the remote has them now.

    A record still in the recycle bin goes as the feed has it (a merged one with its
    master, so its link moves there); one gone for good as a plain delete; one restored
    since not at all (the feed brings it).
    """
    keys = list(dict.fromkeys(keys))
    with cycle.transaction() as session:
        linked = _linked(session, cycle.mapping, keys)
    if not linked:
        return []
    name = cycle.mapping.remote_object
    known = {c.key: c for c in cycle.connector.lookup_deleted(name, sorted(linked))}
    deletes = [known.get(key, Change(key, Op.DELETE)) for key in keys if key in linked]
    return [change for change in deletes if change.op is Op.DELETE]


def _linked(session: Session, mapping: Mapping, keys: Sequence[str]) -> set[str]:
    index = LinkIndex(session, mapping)
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        found.update(index.by_remote(keys[start:start + CHUNK]))
    return found


def gap_failure(mapping: Mapping, found: HardDeletes) -> Failure:
    """The job-level warning for a stretch the remote no longer lists: deletes may be missed."""
    assert found.gap is not None
    start, end = (_minutes(moment) for moment in found.gap)
    return Failure(
        ErrorKind.NOT_FOUND,
        f"{mapping.connection} no longer lists the {mapping.remote_object} records deleted "
        f"from {start} to {end} UTC: records deleted there for good in that time (emptied "
        "from the recycle bin, hard-deleted) may still be linked here",
        code=HARD_DELETE_GAP,
        hint=f"this mapping did not ask {mapping.connection} for longer than it keeps its "
        "deletes (Salesforce: 30 days, less once its delete log is purged); nothing in the "
        "hub changed because of it. A record deleted for good in that time stays linked "
        "until a write to it fails with NOT_FOUND, which names it. Ignore this error once "
        "you have checked",
    )


def _minutes(moment: datetime) -> str:
    return f"{as_utc(moment):%Y-%m-%d %H:%M}"
