"""The Recycle Bin and the delete log: emptying the bin, hard deletes, and what getDeleted lists.

A delete moves a record to the Recycle Bin: ``IsDeleted`` turns true and ``queryAll`` still
returns it. Emptying the bin (``Database.emptyRecycleBin``, the Setup page) or a Bulk API
``hardDelete`` removes the record for good: ``queryAll`` no longer knows it. The delete log
behind ``sobjects/{T}/deleted/`` keeps listing it (id and deletion date) until the replication
window has passed; only the platform dropping log entries (``trim``) moves the object's
``earliestDateAvailable`` forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.validation import format_datetime, parse_datetime

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org


class DeleteLog:
    """Deletions whose records are gone from the org; what getDeleted lists besides the bin."""

    def __init__(self) -> None:
        #: object → id → deletion date (API datetime text), for records no longer stored.
        self.entries: dict[str, dict[str, str]] = {}
        #: object → the date before which entries were dropped (``earliestDateAvailable``).
        self.trimmed: dict[str, datetime] = {}

    def add(self, sobject: str, record_id: str, deleted_date: str) -> None:
        """Log a record that just left the org for good."""
        self.entries.setdefault(sobject, {})[record_id] = deleted_date

    def listed(self, sobject: str) -> list[tuple[str, str]]:
        """(id, deletion date) of every logged deletion of ``sobject``."""
        return list(self.entries.get(sobject, {}).items())

    def trim(self, sobject: str, before: datetime) -> int:
        """Drop entries deleted before ``before``, as the platform's log purge does."""
        kept = {
            record_id: stamp
            for record_id, stamp in self.entries.get(sobject, {}).items()
            if parse_datetime(stamp) >= before
        }
        dropped = len(self.entries.get(sobject, {})) - len(kept)
        self.entries[sobject] = kept
        self.trimmed[sobject] = max(before, self.trimmed.get(sobject, before))
        return dropped

    def as_dict(self) -> dict[str, Any]:
        """JSON data for a state file."""
        return {
            "entries": self.entries,
            "trimmed": {name: format_datetime(moment) for name, moment in self.trimmed.items()},
        }

    def load(self, data: dict[str, Any], known: Iterable[str]) -> None:
        """Replace the log with a state file's (objects the org does not have are refused)."""
        entries = dict(data.get("entries") or {})
        trimmed = dict(data.get("trimmed") or {})
        unknown = sorted((set(entries) | set(trimmed)) - set(known))
        if unknown:
            raise ValueError(f"delete log of objects not in this org: {', '.join(unknown)}")
        self.entries = {name: dict(rows) for name, rows in entries.items()}
        self.trimmed = {name: parse_datetime(text) for name, text in trimmed.items()}


def deleted_rows(org: Org, sobject: str) -> list[tuple[str, str]]:
    """(id, deletion date) of every deletion getDeleted knows: the bin's and the log's."""
    in_bin = [
        (row["Id"], row["SystemModstamp"])
        for row in org.rows(sobject, include_deleted=True)
        if row["IsDeleted"]
    ]
    return in_bin + org.delete_log.listed(sobject)


def empty_recycle_bin(org: Org, ids: Iterable[str] | None = None) -> list[str]:
    """Remove deleted records for good (all of them, or the given ids); returns the ids.

    An id that is not in the bin (live, unknown, already purged) refuses the whole request:
    nothing is purged then.
    """
    with org.lock:
        if ids is None:
            targets = [
                (name, row)
                for name in org.store.tables
                for row in org.rows(name, include_deleted=True)
                if row["IsDeleted"]
            ]
        else:
            targets = [_in_bin(org, record_id) for record_id in dict.fromkeys(ids)]
        with org.savepoint():
            for name, row in targets:
                org.store.write(name, row["Id"], None)
        for name, row in targets:
            org.delete_log.add(name, row["Id"], row["SystemModstamp"])
        return [row["Id"] for _, row in targets]


def hard_delete(
    org: Org, sobject: str, record_ids: Iterable[str], *, user_id: str | None = None
) -> None:
    """Delete records past the Recycle Bin, with the children their delete takes along.

    All or nothing: a record that cannot be deleted leaves every one of them as it was.
    """
    with org.lock:
        with org.savepoint():
            for record_id in record_ids:
                org.delete(sobject, record_id, user_id=user_id)
            # The savepoint's journal holds every row the deletes touched, cascades included.
            tables = org.store.tables
            gone = [
                (name, tables[name][key])
                for (name, key), before in org.store.journals[-1].items()
                if (before is None or not before["IsDeleted"])
                and key in tables[name]
                and tables[name][key]["IsDeleted"]
            ]
            for name, row in gone:
                org.store.write(name, row["Id"], None)
        for name, row in gone:
            org.delete_log.add(name, row["Id"], row["SystemModstamp"])


def _in_bin(org: Org, record_id: Any) -> tuple[str, dict]:
    found = org.by_id(record_id) if isinstance(record_id, str) else None
    if found is None or not found[1]["IsDeleted"]:
        raise SalesforceError(
            "INVALID_SANDBOX_REQUEST", f"{record_id!r} is not a record in the Recycle Bin"
        )
    return found
