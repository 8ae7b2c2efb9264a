"""Validate a candidate mapping text with the CLI's validator before it replaces the file.

The candidate is loaded by :func:`mappings.loader.load_mapping` (shape, hub fields,
transforms, expressions), then the folder is loaded by :func:`~mappings.loader.load_mappings`
with the candidate in place of the file (``ref:`` rows, duplicate names), then, when the
remote answered describe, checked by :func:`mappings.check.check_against_remote`: the same
checks as ``syncline mappings check``. This happens in a private copy of the folder, so the
running scheduler never sees a half-edited file, and every message names the real file.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from connectors.base import ObjectInfo
from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from core.yamlsource import display_path
from mappings.check import check_against_remote
from mappings.loader import load_mapping, load_mappings, locate, mapping_paths
from mappings.spec import Mapping


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a candidate: ``file:line path`` and what to change."""

    level: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the validator said about a candidate text."""

    findings: list[Finding]
    mapping: Mapping | None
    #: False when the remote check could not run (describe unavailable).
    remote_checked: bool

    @property
    def errors(self) -> list[Finding]:
        """Findings that block a save."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings shown but not blocking."""
        return [f for f in self.findings if f.level == "warning"]


def validate_text(
    text: str,
    path: Path,
    *,
    hub_schema: HubSchema,
    connections: dict[str, Any] | None,
    objects: dict[str, ObjectInfo] | None,
    others: dict[str, Path] | None = None,
) -> Verdict:
    """Check ``text`` as the new content of mapping file ``path``.

    ``others`` (mapping name → file, from the catalog) lets the folder check copy only the
    mappings the candidate's ``ref:`` rows name; without it every file is copied.
    """
    real = display_path(path)
    with tempfile.TemporaryDirectory(prefix="syncline-mapping-") as tmp:
        folder = Path(tmp)
        candidate = folder / path.name
        candidate.write_text(text, encoding="utf-8")

        def rename(message: str) -> str:
            # Temp names never reach the page: the candidate is the real file, others too.
            for prefix in {str(folder.resolve()), str(folder), display_path(folder)}:
                message = message.replace(prefix + "/" + path.name, real)
                message = message.replace(prefix + "/", display_path(path.parent) + "/")
            return message

        try:
            mapping = load_mapping(candidate, hub_schema=hub_schema, connections=connections)
        except InputError as exc:
            errors = exc.errors if isinstance(exc, InputErrors) else [exc]
            found = [Finding("error", rename(e.where), rename(e.message)) for e in errors]
            return Verdict(found, None, False)
        findings = _duplicate_name(mapping, path, others or {})
        refs = {ref for row in mapping.fields for ref in row.refs if "." not in ref}
        if others is None or not refs <= set(others):
            needed = [p for p in mapping_paths(path.parent) if p.name != path.name]
        else:
            needed = [others[ref] for ref in sorted(refs) if others[ref] != path]
        for other in needed:
            shutil.copyfile(other, folder / other.name)
        if refs or others is None:
            findings += _folder_findings(folder, candidate, hub_schema, connections, rename)
        remote_checked = objects is not None
        if objects is not None:
            for problem in check_against_remote(mapping, objects, hub_schema):
                findings.append(Finding(problem.level, rename(problem.where),
                                        rename(problem.message)))
    mapping._source = real
    return Verdict(findings, mapping, remote_checked)


def _duplicate_name(mapping: Mapping, path: Path, others: dict[str, Path]) -> list[Finding]:
    other = others.get(mapping.name)
    if other is None or other == path:
        return []
    where = locate(mapping, ("name",)).replace(mapping.source, display_path(path))
    return [Finding("error", where,
                    f"mapping {mapping.name!r} is already defined in {display_path(other)}")]


def _folder_findings(folder: Path, candidate: Path, hub_schema: HubSchema,
                     connections: dict[str, Any] | None, rename: Any) -> list[Finding]:
    """The candidate's problems that only show with the whole folder: refs, duplicate names."""
    try:
        load_mappings(folder, hub_schema=hub_schema, connections=connections)
    except InputError as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        own = {str(candidate), str(candidate.resolve()), display_path(candidate)}
        return [
            Finding("error", rename(e.where), rename(e.message))
            for e in errors
            if any(e.where.startswith(name + ":") or e.where == name for name in own)
        ]
    return []
