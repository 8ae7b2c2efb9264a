"""YAML with line numbers: each key path keeps its line, so errors can say ``file:line path``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.errors import InputError

#: A key path: mapping keys and sequence indexes from the document root.
KeyPath = tuple[str | int, ...]


def display_path(path: str | Path) -> str:
    """A path as admins typed it: relative to the working directory when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _construct(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], source: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                where = f"{source}:{key_node.start_mark.line + 1} {format_path(path + (key,))}"
                raise InputError(where, "duplicate key (the earlier value would be silently lost)")
            out[key] = _construct(value_node, path + (key,), lines, source)
            # A key's own line is where an admin looks, not the line its value starts on.
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), lines, source) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "expected a plain value here", node.start_mark
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text; return the data and the line of every key path (1-based).

    A syntax error, an anchor/tag we do not allow or a duplicate key raises
    :class:`~core.errors.InputError` naming ``source:line``.
    """
    lines: dict[KeyPath, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None, lines
        return _construct(node, (), lines, source), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = exc.problem or exc.context or "not valid YAML"
        raise InputError(where, f"not valid YAML: {problem}") from None


def load_yaml_file(path: str | Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read and parse a YAML file; a missing or unreadable file is an InputError too."""
    source = display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(source, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, f"cannot read: {exc}") from None
    return load_yaml(text, source)


def format_path(path: KeyPath) -> str:
    """``("fields", 3, "value_map")`` → ``fields[3].value_map``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path`` or of its nearest ancestor that has one."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
