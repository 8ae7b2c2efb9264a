"""The files an installation works from: connections, the hub schema and the mapping files.

Loaded file by file, so one broken file stops only the mappings it defines: the scheduler keeps
running every other mapping, and the dashboard keeps showing them. ``stopped`` names each
mapping that cannot run and the ``file:line path: message`` problems that keep it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from connectors import connector_class
from connectors.base import Connector
from connectors.config import Connections, load_connections
from connectors.errors import ConnectorError
from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from core.logs import event, get_logger
from core.yamlsource import display_path
from mappings.loader import load_mapping, load_mappings, mapping_paths
from mappings.spec import Mapping

log = get_logger("workspace")

#: A file's identity for change detection: path, modification time (ns) and size.
Stamp = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Workspace:
    """What the files said when last read, and what kept any of them from loading."""

    connections: Connections | None
    hub_schema: HubSchema
    #: Every mapping that loaded (including the ones ``stopped`` keeps from running).
    mappings: dict[str, Mapping]
    problems: list[InputError] = field(default_factory=list)
    #: Mapping name → the problems that keep it from running (its file, hub.yaml, connections).
    stopped: dict[str, list[InputError]] = field(default_factory=dict)

    @property
    def runnable(self) -> dict[str, Mapping]:
        """The mappings a scheduler may run now: loaded, and not stopped by any file."""
        return {n: m for n, m in self.mappings.items() if n not in self.stopped}

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


def signature(directory: Path, connections: Path | None) -> tuple[Any, ...]:
    """Stamps of the folder, each YAML file in it and the connections file: equal means unchanged.

    The folder's own stamp changes when a file is added, removed or renamed.
    """
    files = sorted(directory.glob("*.y*ml")) if directory.is_dir() else []
    return (_stamp(directory), *(_stamp(p) for p in files), connections and _stamp(connections))


def _stamp(path: Path) -> Stamp:
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), info.st_mtime_ns, info.st_size)


def load_workspace(
    directory: Path, conn_path: Path | None, previous: Workspace | None = None
) -> Workspace:
    """Read every file; a broken one is reported and stops only what depends on it.

    ``previous`` (the last load) names the mappings a now-broken file used to define, so a
    mapping whose file broke mid-edit is stopped under its own name.
    """
    problems: list[InputError] = []
    everyone: list[InputError] = []  # problems that stop every mapping
    connections: Connections | None = None
    if conn_path is not None:
        if conn_path.is_file():
            try:
                connections = load_connections(conn_path)
            except InputError as exc:
                problems.extend(flatten(exc))
                everyone.extend(flatten(exc))
        else:
            # Not a "problem" of the files shown (the dashboard says so its own way), but
            # nothing can sync without it.
            everyone.append(InputError(display_path(conn_path), "connections file not found"))
    try:
        hub_schema = HubSchema.load(directory / "hub.yaml")
    except InputError as exc:
        problems.extend(flatten(exc))
        everyone.extend(flatten(exc))
        hub_schema = HubSchema.standard()
    names = {name: connections.get(name) for name in connections.names} if connections else None
    stopped: dict[str, list[InputError]] = {}
    try:
        mappings = load_mappings(directory, hub_schema=hub_schema, connections=names)
    except InputError as exc:
        found = flatten(exc)
        problems.extend(found)
        mappings = load_each_alone(directory, hub_schema, names)
        placed: set[int] = set()
        for path in mapping_paths(directory):
            source = display_path(path)
            own = [e for e in found if _in_file(e, source)]
            placed.update(id(e) for e in own)
            if own:
                for name in _names_defined_by(path, mappings, previous):
                    stopped.setdefault(name, []).extend(own)
        # What names no mapping file (e.g. "not a directory") stops every mapping.
        everyone.extend(e for e in found if id(e) not in placed)
    if everyone:
        for name in {*mappings, *(previous.mappings if previous else ())}:
            stopped.setdefault(name, []).extend(everyone)
    return Workspace(connections, hub_schema, mappings, problems, stopped)


def flatten(exc: InputError) -> list[InputError]:
    """The single problems inside an InputError (an InputErrors holds several)."""
    return list(exc.errors) if isinstance(exc, InputErrors) else [exc]


def _in_file(error: InputError, source: str) -> bool:
    where = error.where or ""
    return where == source or where.startswith((source + ":", source + " "))


def load_each_alone(
    directory: Path, hub_schema: HubSchema, connections: MappingABC[str, Any] | None = None
) -> dict[str, Mapping]:
    """The mapping files that load on their own, when the folder as a whole does not."""
    loaded: dict[str, Mapping] = {}
    for path in mapping_paths(directory):
        try:
            mapping = load_mapping(path, hub_schema=hub_schema, connections=connections)
        except InputError:
            continue  # already reported by the folder load
        loaded.setdefault(mapping.name, mapping)
    return loaded


def _names_defined_by(
    path: Path, loaded: MappingABC[str, Mapping], previous: Workspace | None
) -> Iterable[str]:
    """The mapping names a (possibly broken) file defines now or defined at the last load."""
    source = display_path(path)
    names = {name for name, m in loaded.items() if m.source == source}
    if previous is not None:
        names |= {name for name, m in previous.mappings.items() if m.source == source}
    declared = _declared_name(path)
    if declared:
        names.add(declared)
    return sorted(names) or [path.stem]


def _declared_name(path: Path) -> str | None:
    """The ``name:`` a file declares, if it is readable at all (it may not be valid)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None
