"""The files the dashboard works from: connections, the hub schema and the mapping files.

Read from the paths in the app config and cached until a file changes (its mtime and size),
so pages stay cheap while an edit made by the editor or by hand shows up on the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from connectors import connector_class
from connectors.base import Connector
from connectors.config import Connections, load_connections
from connectors.errors import ConnectorError
from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from core.logs import event, get_logger
from mappings.loader import load_mapping, load_mappings, mapping_paths
from mappings.spec import Mapping


@dataclass(frozen=True, slots=True)
class Workspace:
    """What the files said when last read; ``problems`` holds what kept any of them from loading.

    A broken file never takes the dashboard down: the pages that need it show the problem.
    """

    connections: Connections | None
    hub_schema: HubSchema
    mappings: dict[str, Mapping]
    problems: list[InputError] = field(default_factory=list)

    def connector(self, name: str) -> Connector:
        """A fresh connector for ``name`` (the caller closes it); InputError if unknown."""
        if self.connections is None or name not in self.connections:
            raise InputError("connection", f"no connection named {name!r}")
        return self.connections.build(name)

    def crm_urls(
        self, name: str, records: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Pages in connection ``name``'s own UI for (remote object, remote id) pairs.

        Only what the connector knows from its settings, without logging in: a link is not
        worth a network call. A type with no UI links is not even built (a memory connection
        would load its whole store); a connection that cannot be built gives no links.
        """
        wanted = list(records)
        if not wanted or self.connections is None or name not in self.connections:
            return {}
        found: dict[tuple[str, str], str] = {}
        try:
            kind = connector_class(str(self.connections.get(name).get("type", "")))
            if kind.ui_url is Connector.ui_url:
                return {}
            connector = self.connections.build(name)
            try:
                for remote_object, remote_id in wanted:
                    url = connector.ui_url(remote_object, remote_id)
                    # Only web addresses become links; a javascript: URL from a bad config
                    # must not.
                    if url and urlsplit(url).scheme in ("http", "https"):
                        found[(remote_object, remote_id)] = url
            finally:
                connector.close()
        except (InputError, ConnectorError, KeyError, ValueError) as exc:
            # A link is a convenience: a connection that cannot be built hides nothing else.
            event(log, "dashboard.crm_link_unavailable", connection=name, reason=str(exc))
        return found


log = get_logger("dashboard")
_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], Workspace]] = {}


def mappings_dir() -> Path:
    """The folder of mapping files and hub.yaml this dashboard edits."""
    return Path(current_app.config["MAPPINGS_DIR"])


def connections_path() -> Path | None:
    """The connections file, or None when the app was started without one."""
    value = current_app.config.get("CONNECTIONS")
    return Path(value) if value else None


def _signature(directory: Path, connections: Path | None) -> tuple[Any, ...]:
    def stamp(path: Path) -> tuple[str, int, int]:
        try:
            info = path.stat()
        except OSError:
            return (str(path), -1, -1)
        return (str(path), info.st_mtime_ns, info.st_size)

    files = sorted(directory.glob("*.y*ml")) if directory.is_dir() else []
    return (stamp(directory), *(stamp(p) for p in files), connections and stamp(connections))


def current() -> Workspace:
    """The workspace for this app, re-read only when one of its files changed."""
    directory, conn_path = mappings_dir(), connections_path()
    key = f"{directory.resolve()}|{conn_path}"
    signature = _signature(directory, conn_path)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        workspace = _load(directory, conn_path)
        _cache[key] = (signature, workspace)
        return workspace


def _load(directory: Path, conn_path: Path | None) -> Workspace:
    problems: list[InputError] = []
    connections: Connections | None = None
    if conn_path is not None and conn_path.is_file():
        try:
            connections = load_connections(conn_path)
        except InputError as exc:
            problems.extend(_flatten(exc))
    try:
        hub_schema = HubSchema.load(directory / "hub.yaml")
    except InputError as exc:
        problems.extend(_flatten(exc))
        hub_schema = HubSchema.standard()
    mappings: dict[str, Mapping] = {}
    try:
        names = (
            {name: connections.get(name) for name in connections.names} if connections else None
        )
        mappings = load_mappings(directory, hub_schema=hub_schema, connections=names)
    except InputError as exc:
        problems.extend(_flatten(exc))
        # One bad file must not blank the overview: keep every file that loads on its own.
        mappings = _each_alone(directory, hub_schema, names)
    return Workspace(connections, hub_schema, mappings, problems)


def _each_alone(
    directory: Path, hub_schema: HubSchema, connections: dict[str, Any] | None
) -> dict[str, Mapping]:
    loaded: dict[str, Mapping] = {}
    for path in mapping_paths(directory):
        try:
            mapping = load_mapping(path, hub_schema=hub_schema, connections=connections)
        except InputError:
            continue  # already reported by the folder load
        loaded.setdefault(mapping.name, mapping)
    return loaded


def _flatten(exc: InputError) -> list[InputError]:
    return list(exc.errors) if isinstance(exc, InputErrors) else [exc]
