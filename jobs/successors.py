"""Records that live on as another record: converted Leads and merged duplicates.

Salesforce converts a Lead into a Contact (``ConvertedContactId``) and merges duplicates into a
master (``MasterRecordId``, the losers deleted). Connectors report both as a change with a
``successor``. Unlinking the hub record there would orphan it and let the next cycle create a
new Lead for the same person; instead the link moves to the successor, so the mapping of the
successor's object takes over the person with its history intact.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from connectors.base import Change
from core.models import Audit, Link
from jobs.cycle import Cycle
from jobs.links import move
from jobs.references import wake_waiting
from jobs.report import PlannedAction

DIRECTION = "to_hub"


def follow_successors(
    session: Session, cycle: Cycle, changes: Sequence[Change], links: dict[str, Link]
) -> list[Change]:
    """Move links of changes that name a successor; return the changes still to apply."""
    rest: list[Change] = []
    for change in changes:
        if change.successor is None:
            rest.append(change)
            continue
        link = links.pop(change.key, None)
        if link is None:
            # Never synced from here: the successor's own mapping brings it in, if it should,
            # and whatever kept this record from syncing here is over.
            cycle.report.skipped += 1
            cycle.failures(session, DIRECTION).resolve(remote_ids=[change.key])
            continue
        moved = _move(session, cycle, change, link)
        if moved and change.successor[0] == cycle.mapping.remote_object:
            # The successor may be on this very page: plan it against the moved link.
            links[change.successor[1]] = link
    return rest


def _move(session: Session, cycle: Cycle, change: Change, link: Link) -> bool:
    """Move ``link`` to the change's successor (True), or drop it when a link is in the way."""
    assert change.successor is not None
    target_object, target_id = change.successor
    mapping = cycle.mapping
    how = "converted" if target_object != mapping.remote_object else "merged"
    detail = {
        "connection": mapping.connection,
        "from": f"{mapping.remote_object} {change.key}",
        "to": f"{target_object} {target_id}",
        "hub_id": link.hub_id,
    }
    # The successor's own mapping may link it at this very moment (it matches the new
    # Contact by email): ``move`` decides under the hub write lock, so one of us finds the
    # other's link instead of both writing one.
    taken = move(session, link, target_object, target_id)
    if taken is None:
        # The old snapshot describes another record: the successor's first pull merges afresh.
        link.snapshot = {}
        link.remote_version = None
        link.synced_at = cycle.now
        link.mapping = _mapping_for(cycle, target_object) or link.mapping
        session.add(link)
        wake_waiting(session, cycle.mappings, [link], cycle.now)
        action = f"link.{how}"
    else:
        # The successor already belongs to a hub record (this one or another), or this hub
        # record is linked to another record of that object already: drop our link and leave
        # the hub records as they are; the audit row says what happened.
        session.delete(link)
        if taken.remote_id != target_id:
            detail["linked_already"] = f"{taken.remote_object} {taken.remote_id}"
        elif taken.hub_id != link.hub_id:
            detail["successor_hub_id"] = taken.hub_id
        action = f"link.{how}.dropped"
    session.add(Audit(at=cycle.now, actor="sync", action=action, target=link.hub_id, detail=detail))
    cycle.failures(session, DIRECTION).resolve(remote_ids=[change.key])
    cycle.plan(
        PlannedAction(
            DIRECTION, "relink", link.hub_id, change.key, note=f"{how} into {target_object} "
            f"{target_id}"
        )
    )
    return taken is None


def _mapping_for(cycle: Cycle, remote_object: str) -> str | None:
    """The mapping that syncs ``remote_object`` for this hub object on this connection."""
    for mapping in cycle.mappings.values():
        if (
            mapping.connection == cycle.mapping.connection
            and mapping.remote_object == remote_object
            and mapping.hub_object == cycle.mapping.hub_object
        ):
            return mapping.name
    return None
