"""Keeping a Dataverse sandbox environment across restarts (``--state FILE``, the demo).

Rows (with their version numbers), deletion tombstones and the version counter are saved, so
delta links issued before a restart keep working, as they do across a real environment's
maintenance: a restart must not cost every connector a full re-read.
"""

from __future__ import annotations

from pathlib import Path

from sandboxes.dynamics.store import Environment
from sandboxes.persistence import FORMAT, StateError, read_state, write_json_atomically


def save(env: Environment, path: Path) -> None:
    """Write every live row and the version counter atomically."""
    with env.lock:
        # The store has no export API yet: its tables are read under its own lock.
        data = {
            "format": FORMAT,
            "version": env.version,
            "tracking_floor": env.tracking_floor,
            "tables": {name: list(rows.values()) for name, rows in env._tables.items()},  # noqa: SLF001
            "deleted": env._deleted,  # noqa: SLF001 - guid → version of the deletion
        }
    write_json_atomically(path, data)


def load(env: Environment, path: Path) -> int:
    """Replace ``env``'s rows with the file's; returns how many were loaded."""
    data = read_state(path)
    tables = data.get("tables") or {}
    unknown = sorted(set(tables) - set(env.metadata.entities))
    if unknown:
        raise StateError(f"{path}: entities this sandbox does not know: {', '.join(unknown)}")
    count = 0
    with env.lock:
        env.reset()
        for name, rows in tables.items():
            for row in rows:
                env._put(name, row["_guid"], row)  # noqa: SLF001 - re-indexes the row
                count += 1
        for name, tombstones in (data.get("deleted") or {}).items():
            if name in env._deleted:  # noqa: SLF001
                env._deleted[name].update({g: int(v) for g, v in tombstones.items()})  # noqa: SLF001
        env._version = int(data.get("version") or 0)  # noqa: SLF001
        env.tracking_floor = int(data.get("tracking_floor") or 0)
    return count
