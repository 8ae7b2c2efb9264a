"""Keeping a sandbox org across restarts: its records saved to and loaded from one JSON file.

The demo and ``syncline sandbox salesforce --state FILE`` use it, so ids the hub has linked
stay valid when the sandbox restarts. Only data is saved; metadata comes from the config,
which must be the same on load (a missing object or field in it is reported, not ignored).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sandboxes.persistence import FORMAT, StateError, read_state, write_json_atomically
from sandboxes.salesforce.ids import IdMinter
from sandboxes.salesforce.influence import seed_primary_model
from sandboxes.salesforce.org import Org
from sandboxes.salesforce.recycle import DeleteLog


def save(org: Org, path: Path) -> None:
    """Write every record (deleted ones too, for queryAll) atomically; a crash keeps the old."""
    with org.lock:
        data = {
            "format": FORMAT,
            "organization_id": org.organization_id,
            "last_id": org.minter.last,
            "tables": {name: list(table.values()) for name, table in org.store.tables.items()},
            # Records gone from the Recycle Bin: getDeleted still lists them after a restart.
            "delete_log": org.delete_log.as_dict(),
        }
    write_json_atomically(path, data)


def load(org: Org, path: Path) -> int:
    """Replace ``org``'s records with the file's; returns how many were loaded."""
    data = read_state(path)
    if data.get("organization_id") != org.organization_id:
        raise StateError(f"{path}: saved from another org configuration")
    tables = data.get("tables") or {}
    unknown = sorted(set(tables) - set(org.store.tables))
    if unknown:
        raise StateError(f"{path}: objects not in this sandbox's config: {', '.join(unknown)}")
    delete_log = DeleteLog()
    try:  # checked before anything is replaced: a bad file leaves the org as it was
        delete_log.load(data.get("delete_log") or {}, org.store.tables)
    except (ValueError, TypeError, AttributeError) as exc:
        raise StateError(f"{path}: {exc}") from None
    count = 0
    with org.lock:
        for name, table in org.store.tables.items():
            for record_id in list(table):
                org.store.write(name, record_id, None)
        latest = ""
        for name, rows in tables.items():
            for row in rows:
                org.store.write(name, row["Id"], row)
                latest = max(latest, row.get("SystemModstamp") or "")
                count += 1
        org.delete_log = delete_log
        org.minter = IdMinter(start=int(data["last_id"]) + 1)
        if latest:  # modstamps never go backwards, even across a restart
            org.bump_clock(datetime.strptime(latest, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC))
        # A state saved before the sandbox knew campaign influence still gets its default model.
        seed_primary_model(org)
    return count
