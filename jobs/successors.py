"""Records that live on as another record: converted Leads and merged duplicates.

Salesforce converts a Lead into a Contact (``ConvertedContactId``) and merges duplicates into a
master (``MasterRecordId``, the losers deleted). Connectors report both as a change with a
``successor``. Unlinking the hub record there would orphan it and let the next cycle create a
new Lead for the same person; instead the link moves to the successor, so the mapping of the
successor's object takes over the person with its history intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from connectors.base import Change
from core.models import Audit, Link
from jobs.cycle import Cycle
from jobs.links import move
from jobs.references import wake_waiting
from jobs.report import PlannedAction

DIRECTION = "to_hub"


@dataclass(slots=True)
class Relink:
    """A change naming a successor: its link (None: never synced from here) moves there."""

    change: Change
    link: Link | None


def plan_successors(
    changes: Sequence[Change], links: dict[str, Link], remote_object: str
) -> tuple[list[Change], list[Relink], set[str]]:
    """Split off the changes that name a successor; no I/O.

    Returns the changes still to plan, the moves to make, and the successors of this very
    object (a merge's master) whose link the moves bring: planned against the moved link,
    afresh. ``links`` is updated to what the moves will leave; a successor that has a link
    of its own already is not one of them (that link is in the move's way).
    """
    rest: list[Change] = []
    relinks: list[Relink] = []
    moved: set[str] = set()
    for change in changes:
        if change.successor is None:
            rest.append(change)
            continue
        link = links.pop(change.key, None)
        relinks.append(Relink(change, link))
        target_object, target_id = change.successor
        if link is not None and target_object == remote_object and target_id not in links:
            links[target_id] = link
            moved.add(target_id)
    return rest, relinks, moved


def apply_relinks(session: Session, cycle: Cycle, relinks: Sequence[Relink]) -> dict[str, Link]:
    """Make the moves; per successor id whose move was refused, the link that was in the way.

    A change never synced from here is skipped: the successor's own mapping brings it in, if
    it should, and whatever kept this record from syncing here is over.
    """
    refused: dict[str, Link] = {}
    for relink in relinks:
        change, link = relink.change, relink.link
        if link is None:
            cycle.report.skipped += 1
            cycle.failures(session, DIRECTION).resolve(remote_ids=[change.key])
            continue
        taken = _move(session, cycle, change, link)
        if taken is not None:
            assert change.successor is not None
            refused[change.successor[1]] = taken
    return refused


def _move(session: Session, cycle: Cycle, change: Change, link: Link) -> Link | None:
    """Move ``link`` to the change's successor, or drop it when a link is in the way (returned)."""
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
        link.snapshot, link.held, link.pending = {}, {}, None
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
    return taken


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
