"""Every mapping file in the dashboard's folder, each loaded on its own.

One broken file never hides the others: each entry has its text, the compiled mapping (or its
problems) and a content hash.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from core.yamlsource import display_path
from dashboard import workspace
from mappings.loader import load_mapping, mapping_paths
from mappings.spec import Mapping


@dataclass
class MappingFile:
    """One mapping file as it is on disk now."""

    path: Path
    name: str
    text: str
    mapping: Mapping | None = None
    problems: list[str] = field(default_factory=list)
    #: The file's plain YAML data (None when it does not parse): what the editor starts from.
    data: dict[str, Any] | None = None

    @property
    def file(self) -> str:
        """The file as messages name it (relative to the working directory when inside it)."""
        return display_path(self.path)

    @property
    def digest(self) -> str:
        """SHA-256 of the text: the editor's check that nobody saved in between."""
        return text_digest(self.text)

    @property
    def row_count(self) -> int | None:
        """Number of field rows as written (None when the file has no readable list)."""
        rows = (self.data or {}).get("fields")
        return len(rows) if isinstance(rows, list) else None

    def setting(self, key: str) -> Any:
        """A top-level setting as written in the file (for files that did not load)."""
        return (self.data or {}).get(key)


def text_digest(text: str) -> str:
    """SHA-256 hex of a file's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def connection_names(ws: workspace.Workspace) -> dict[str, Any] | None:
    """Connection names for the loader's "no connection named" check (values unused: secrets)."""
    if ws.connections is None:
        return None
    return {name: {} for name in ws.connections.names}


_lock = threading.Lock()
#: What loading a file said, by (path, content hash, hub.yaml hash, connection names): a save
#: reloads only the file it changed.
_cache: dict[tuple[Any, ...], tuple[Mapping | None, list[str]]] = {}


def files() -> list[MappingFile]:
    """Every mapping file, each loaded on its own; re-read only when its content changed."""
    ws = workspace.current()
    directory = workspace.mappings_dir()
    names = connection_names(ws)
    try:
        hub_text = (directory / "hub.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        hub_text = ""
    context = (text_digest(hub_text), tuple(sorted(names)) if names is not None else None)
    entries: list[MappingFile] = []
    used: set[tuple[Any, ...]] = set()
    for path in mapping_paths(directory):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            text = f"# cannot read: {exc}"
        # Content, not mtime: a save and a restore inside one clock tick must still show.
        key = (str(path), text_digest(text), *context)
        with _lock:
            loaded = _cache.get(key)
        if loaded is None:
            loaded = _load(path, ws)
            with _lock:
                _cache[key] = loaded
        used.add(key)
        entries.append(_entry(path, text, loaded, ws))
    with _lock:
        prefix = str(directory) + "/"
        for key in [k for k in _cache if k[0].startswith(prefix) and k not in used]:
            del _cache[key]
    return entries


def find(name: str) -> MappingFile | None:
    """The file of mapping ``name`` (or, for a file that does not load, of that file stem)."""
    every = files()
    return next((f for f in every if f.name == name), None) or next(
        (f for f in every if f.path.stem == name), None
    )


def hub_schema() -> HubSchema:
    """The hub schema the mappings are checked against (standard fields if hub.yaml is broken)."""
    return workspace.current().hub_schema


def _load(path: Path, ws: workspace.Workspace) -> tuple[Mapping | None, list[str]]:
    try:
        mapping = load_mapping(path, hub_schema=ws.hub_schema, connections=connection_names(ws))
    except InputError as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        return None, [str(e) for e in errors]
    return mapping, []


def _entry(path: Path, text: str, loaded: tuple[Mapping | None, list[str]],
           ws: workspace.Workspace) -> MappingFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    data = data if isinstance(data, dict) else None
    name = data.get("name") if data else None
    entry = MappingFile(path, name if isinstance(name, str) and name else path.stem, text,
                        mapping=loaded[0], problems=list(loaded[1]), data=data)
    # Problems only the whole folder shows: ref: rows naming other mappings, duplicate names.
    prefix = f"{entry.file}:"
    for problem in ws.problems:
        text_of = str(problem)
        if text_of.startswith(prefix) and text_of not in entry.problems:
            entry.problems.append(text_of)
    return entry
