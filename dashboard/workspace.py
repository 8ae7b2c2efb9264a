"""The dashboard's workspace: the files in the app config, read through mappings.workspace.

Cached until a file changes (its mtime and size), so pages stay cheap while an edit made by the
editor or by hand shows up on the next request. A broken file never takes the dashboard down:
the pages that need it show the problem.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import current_app

from mappings.workspace import Workspace, load_workspace, signature

__all__ = ["Workspace", "connections_path", "current", "mappings_dir"]

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], Workspace]] = {}


def mappings_dir() -> Path:
    """The folder of mapping files and hub.yaml this dashboard edits."""
    return Path(current_app.config["MAPPINGS_DIR"])


def connections_path() -> Path | None:
    """The connections file, or None when the app was started without one."""
    value = current_app.config.get("CONNECTIONS")
    return Path(value) if value else None


def current() -> Workspace:
    """The workspace for this app, re-read only when one of its files changed."""
    directory, conn_path = mappings_dir(), connections_path()
    key = f"{directory.resolve()}|{conn_path}"
    stamp = signature(directory, conn_path)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        workspace = load_workspace(directory, conn_path, cached[1] if cached else None)
        _cache[key] = (stamp, workspace)
        return workspace
