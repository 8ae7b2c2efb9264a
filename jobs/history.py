"""The field history journal: every value a page changed (or kept against a change), and why.

The phases hand a :class:`Journal` what they wrote, record by record; it keeps only values that
actually changed and writes the page's rows with one ``executemany`` in the page's own
transaction, so a rolled-back page leaves no history and an idle cycle writes none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.models import FieldHistory
from jobs.compare import canon, same
from jobs.plan.actions import FieldMoves, Kept
from mappings.spec import Mapping

HUB = "hub"


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of field history, before it is written."""

    hub_id: str
    field: str
    remote_field: str | None
    old: Any
    new: Any
    source: str
    direction: str  # to_hub | to_remote | kept
    reason: str


class Journal:
    """Collects one page's field history for one mapping, then writes it with the page."""

    def __init__(self, mapping: Mapping, run_id: int | None) -> None:
        self.mapping = mapping
        self.run_id = run_id
        self.entries: list[Entry] = []
        self._kept: list[Entry] = []
        #: Hub field → the remote field that feeds it (at most one per hub field).
        pulling = [row for row in mapping.fields if row.hub and row.pulls(mapping.direction)]
        self._pulled_from = {row.hub: row.remote for row in pulling}
        #: Remote field → the hub field it is made from (a computed row is known by its remote
        #: field: it has no hub field, and the value it sends is a change all the same).
        self._pushed_from = {
            row.remote: row.hub or row.remote for row in mapping.fields if row.hub or row.expr
        }
        #: Reasons for values no field decision stands behind.
        self._sent = f"{mapping.name}: sent from the hub"
        self._created = f"{mapping.name}: a new {mapping.hub_object} from {mapping.connection}"
        self._read = f"{mapping.name}: read from {mapping.connection}"

    # -- what the phases report ---------------------------------------------------------------

    def to_hub(
        self, hub_id: str, changed: dict[str, list[Any]], moves: FieldMoves, *, new: bool
    ) -> None:
        """Hub fields a remote record changed: hub field → [old, new], in the hub's form.

        The callers pass only values the hub took (``HubSchema.set`` said they changed, or a
        new record's values), so each is a change.
        """
        default = self._created if new else self._read
        for name, (old, value) in changed.items():
            remote_field = self._pulled_from.get(name)
            self.entries.append(
                Entry(
                    hub_id, name, remote_field, canon(old), canon(value),
                    self.mapping.connection, "to_hub",
                    moves.reasons.get(remote_field or "") or default,
                )
            )

    def to_remote(
        self, hub_id: str, sent: dict[str, Any], before: dict[str, Any], moves: FieldMoves
    ) -> None:
        """Remote fields the remote accepted: remote field → value, against what it held.

        The planner sends only values that differ from what the remote holds, so each is a
        change; the external id (no hub field) is not one of the record's values.
        """
        reasons = moves.reasons
        for remote_field, value in sent.items():
            hub_field = self._pushed_from.get(remote_field)
            if hub_field is None:
                continue
            self.entries.append(
                Entry(
                    hub_id, hub_field, remote_field, canon(before.get(remote_field)),
                    canon(value), HUB, "to_remote", reasons.get(remote_field) or self._sent,
                )
            )

    def kept(self, hub_id: str, kept: Iterable[Kept]) -> None:
        """Values a remote offered that the hub did not take (checked against the last row)."""
        for k in kept:
            self._kept.append(
                Entry(
                    hub_id, k.hub_field, k.remote_field, k.kept, k.offered,
                    self.mapping.connection, "kept", k.reason,
                )
            )

    # -- writing ------------------------------------------------------------------------------

    def flush(self, session: Session) -> int:
        """Write the page's rows in one statement; how many. Nothing is read for a quiet page."""
        rows = self.entries + self._new_kept(session)
        self.entries, self._kept = [], []
        if not rows:
            return 0
        hub_table = self.mapping.hub_object
        # When the page is written, not when its cycle began: a run of several mappings pulls
        # them all before it pushes any, and the history reads in the order things happened.
        now = utcnow()
        # A plain executemany on the page's connection: no ORM bookkeeping for rows the
        # session never reads back.
        session.connection().execute(
            insert(FieldHistory.__table__),  # type: ignore[arg-type]
            [
                {
                    "at": now,
                    "hub_table": hub_table,
                    "hub_id": e.hub_id,
                    "field": e.field,
                    "remote_field": e.remote_field,
                    "old": e.old,
                    "new": e.new,
                    "source": e.source,
                    "direction": e.direction,
                    "mapping": self.mapping.name,
                    "run_id": self.run_id,
                    "reason": e.reason,
                }
                for e in rows
            ],
        )
        return len(rows)

    def _new_kept(self, session: Session) -> list[Entry]:
        """The kept values that are news, each saying where the value the hub kept came from.

        A push looks at a record whenever any of its fields changes, and the two sides still
        disagree on this one: the same "kept" is journaled once per mapping, not at every
        look. One query reads the fields' rows, and only on a page that kept something.
        """
        if not self._kept:
            return []
        ids = {e.hub_id for e in self._kept}
        fields = {e.field for e in self._kept}
        latest: dict[tuple[str, str], FieldHistory] = {}
        mine: dict[tuple[str, str], FieldHistory] = {}  # this mapping's latest row per field
        rows = session.exec(
            select(FieldHistory)
            .where(col(FieldHistory.hub_id).in_(ids), col(FieldHistory.field).in_(fields))
            .order_by(col(FieldHistory.id))
        )
        for row in rows:
            latest[(row.hub_id, row.field)] = row
            if row.mapping == self.mapping.name:
                mine[(row.hub_id, row.field)] = row
        fresh: list[Entry] = []
        for entry in self._kept:
            own = mine.get((entry.hub_id, entry.field))
            if (
                own is not None
                and own.direction == "kept"
                and same(own.old, entry.old)
                and same(own.new, entry.new)
            ):
                continue
            last = latest.get((entry.hub_id, entry.field))
            reason = entry.reason
            if (
                last is not None
                and last.direction == "to_hub"
                and last.mapping != self.mapping.name
                and same(last.new, entry.old)
            ):
                # The hub's value came from another mapping: name the rule that put it there.
                run = f" in run {last.run_id}" if last.run_id is not None else ""
                reason = f"{reason}; the hub's value came from {last.mapping}{run} ({last.reason})"
            fresh.append(
                Entry(
                    entry.hub_id, entry.field, entry.remote_field, entry.old, entry.new,
                    entry.source, entry.direction, reason,
                )
            )
        return fresh
