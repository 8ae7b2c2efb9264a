"""Change a mapping file's text in place: only the edited keys move, every other byte stays.

A YAML library's round trip rewrites what it does not model: ruamel.yaml turns
``[strip, {truncate: 80}]`` into ``[strip, truncate: 80]`` and joins wrapped flow maps, so saving
an untouched shipped mapping would already produce a diff. Instead the edits are spliced into
the original text at the exact character spans PyYAML's composer reports for each node, and
only the changed values are written out, in the style of the value they replace (flow or block,
plain or quoted). Comments, key order, quoting and line wrapping elsewhere survive as they were.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: The order keys are written in when a row or the file gains one (the shipped files' order).
ROW_KEYS = ("hub", "expr", "remote", "rule", "transform", "value_map", "default", "ref")
TOP_KEYS = (
    "name", "description", "connection", "hub_object", "remote_object", "direction", "schedule",
    "enabled", "identity", "sync_rule", "pull_rule", "create", "deletes", "conflicts",
    "on_field_error", "page_size", "fields",
)  # fmt: skip

#: Text YAML reads back as the same string without quotes, in flow and block context alike.
_PLAIN = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_ ./()+@'&-]*")
#: Flow maps longer than this are wrapped when the value they replace was wrapped.
_WRAP_AT = 100


class EditError(ValueError):
    """The file cannot take this edit as text (an unusual layout); says what to do by hand."""


@dataclass
class RowEdit:
    """Changes to one field row: keys to set (new values) and keys to drop, or the whole row.

    ``index`` is the row's position in the file; None adds a new row at the end.
    """

    index: int | None
    remove: bool = False
    set: dict[str, Any] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when this changes nothing."""
        return not (self.remove or self.set or self.drop)


@dataclass
class FileEdit:
    """Every change to one mapping file: field rows plus top-level keys (sync_rule, pull_rule)."""

    rows: list[RowEdit] = field(default_factory=list)
    top_set: dict[str, Any] = field(default_factory=dict)
    top_drop: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when applying this would leave the file as it is."""
        return not (self.top_set or self.top_drop or any(not r.empty for r in self.rows))


# -- emitting values -----------------------------------------------------------------------------


def scalar(value: Any, style: str | None = None) -> str:
    """One value as YAML text safe in flow context; ``style`` keeps the original quoting."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if style == "'" and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if style != '"' and _plain_safe(text):
        return text
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(text, ensure_ascii=False)


def _plain_safe(text: str) -> bool:
    if not _PLAIN.fullmatch(text) or text.endswith(" "):
        return False
    try:
        return bool(yaml.safe_load(text) == text)
    except yaml.YAMLError:
        return False


def flow(value: Any) -> str:
    """A value in flow style: ``[strip, {truncate: 80}]``, ``{a: b, c: d}`` or a scalar."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _wrapped_map(value: dict[str, Any], column: int, width: int) -> str:
    """A flow map wrapped like the shipped files: continuation lines line up after the brace."""
    items = [f"{scalar(k)}: {flow(v)}" for k, v in value.items()]
    out, col = "{", column + 1
    for i, item in enumerate(items):
        tail = "}" if i == len(items) - 1 else ","
        if i and col + 1 + len(item) + len(tail) > width:
            out += "\n" + " " * (column + 1)
            col = column + 1
        elif i:
            out += " "
            col += 1
        out += item + tail
        col += len(item) + len(tail)
    return out if items else "{}"


# -- positions in the text -----------------------------------------------------------------------


def _content_end(node: Node) -> int:
    """Index just past a node's last character (block collections: past their last value)."""
    if isinstance(node, ScalarNode) or node.flow_style:
        return int(node.end_mark.index)
    if isinstance(node, MappingNode) and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and node.value:
        return _content_end(node.value[-1])
    return int(node.start_mark.index)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _next_line(text: str, index: int) -> int:
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _pair(node: MappingNode, key: str) -> tuple[int, Node, Node] | None:
    for i, (key_node, value_node) in enumerate(node.value):
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return i, key_node, value_node
    return None


class _Splicer:
    """Collects (start, end, replacement) splices on the original text; applies them at once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.splices: list[tuple[int, int, int, str]] = []

    def add(self, start: int, end: int, replacement: str) -> None:
        self.splices.append((start, end, len(self.splices), replacement))

    def result(self) -> str:
        out = self.text
        last_start = len(out) + 1
        # From the end backwards, so earlier positions stay valid. Several inserts at one place
        # land in the order they were added (the later one is applied first, so ends up after).
        for start, end, _, replacement in sorted(self.splices, reverse=True):
            if end > last_start:
                raise EditError("two edits touch the same part of the file; save them one by one")
            out = out[:start] + replacement + out[end:]
            last_start = start
        return out

    # -- mapping pairs ---------------------------------------------------------------------------

    def set_pair(self, node: MappingNode, key: str, value: Any, order: tuple[str, ...]) -> None:
        """Replace ``key``'s value in ``node``, or add the pair where ``order`` puts it."""
        found = _pair(node, key)
        if found is not None:
            self.replace_value(found[2], value)
        else:
            self.insert_pair(node, key, value, order)

    def replace_value(self, old: Node, value: Any) -> None:
        text = self.text
        if isinstance(old, ScalarNode) and not isinstance(value, dict | list):
            style = old.style if old.style in ('"', "'") else None
            self.add(old.start_mark.index, old.end_mark.index, scalar(value, style))
        elif isinstance(old, MappingNode) and not old.flow_style and isinstance(value, dict):
            self.replace_block_map(old, value)
        elif (isinstance(value, dict) and old.flow_style
              and old.start_mark.line != old.end_mark.line):
            start = old.start_mark.index
            width = max(_WRAP_AT, *(len(line) for line in text[
                _line_start(text, start):_next_line(text, old.end_mark.index)].splitlines()))
            self.add(start, old.end_mark.index, _wrapped_map(value, old.start_mark.column, width))
        else:
            self.add(old.start_mark.index, _content_end(old), flow(value))

    def replace_block_map(self, old: MappingNode, value: dict[str, Any]) -> None:
        """Change a block map entry by entry: untouched entries (and comments) keep their text."""
        old_keys = [k.value for k, _ in old.value if isinstance(k, ScalarNode)]
        kept = [k for k in value if k in old_keys]
        if kept != [k for k in old_keys if k in value] or list(value)[: len(kept)] != kept:
            # Reordered: write the whole map again, at the same indentation.
            indent = "\n" + " " * old.value[0][0].start_mark.column
            body = indent.join(f"{scalar(k)}: {flow(v)}" for k, v in value.items())
            self.add(old.value[0][0].start_mark.index, _content_end(old), body)
            return
        for key_node, value_node in old.value:
            key = key_node.value
            if key not in value:
                self.remove_block_lines(key_node, value_node)
            elif not _same(_plain_value(value_node), value[key]):
                self.replace_value(value_node, value[key])
        added = [k for k in value if k not in old_keys]
        if added:
            indent = " " * old.value[0][0].start_mark.column
            lines = "".join(f"{indent}{scalar(k)}: {flow(value[k])}\n" for k in added)
            self.add(*[_next_line(self.text, _content_end(old))] * 2, lines)

    def insert_pair(self, node: MappingNode, key: str, value: Any, order: tuple[str, ...]) -> None:
        if not node.value:
            raise EditError(f"cannot add {key}: the map around it is empty; edit the file by hand")
        rank = order.index(key) if key in order else len(order)
        before = [i for i, (k, _) in enumerate(node.value)
                  if isinstance(k, ScalarNode) and k.value in order and order.index(k.value) < rank]
        anchor_key, anchor_value = node.value[max(before) if before else -1]
        if node.flow_style:
            at = _content_end(anchor_value)
            self.add(at, at, f", {key}: {flow(value)}")
            return
        indent = " " * node.value[0][0].start_mark.column
        if isinstance(value, dict) and value:
            inner = " " * (len(indent) + 2)
            entries = "".join(f"{inner}{scalar(k)}: {flow(v)}\n" for k, v in value.items())
            body = f"{key}:\n{entries}"
        else:
            body = f"{key}: {flow(value)}\n"
        at = _next_line(self.text, _content_end(anchor_value))
        self.add(at, at, indent + body)

    def drop_pair(self, node: MappingNode, key: str) -> None:
        found = _pair(node, key)
        if found is None:
            return
        index, key_node, value_node = found
        if not node.flow_style:
            self.remove_block_lines(key_node, value_node)
        elif index > 0:
            self.add(_content_end(node.value[index - 1][1]), _content_end(value_node), "")
        elif len(node.value) > 1:
            self.add(key_node.start_mark.index, node.value[1][0].start_mark.index, "")
        else:
            raise EditError(f"cannot remove {key}: it is the only key of its map")

    def remove_block_lines(self, key_node: Node, value_node: Node) -> None:
        start = _line_start(self.text, key_node.start_mark.index)
        if self.text[start:key_node.start_mark.index].strip():
            raise EditError(
                f"cannot remove {key_node.value}: it shares its line with the row's dash; "
                "edit the file by hand"
            )
        self.add(start, _next_line(self.text, _content_end(value_node)), "")


def _plain_value(node: Node) -> Any:
    """The Python value of a node, read the way the loader reads it."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (``True`` is not ``1``; ``'1'`` is not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# -- the file ------------------------------------------------------------------------------------


def _compose(text: str) -> MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise EditError(
            f"the file is not valid YAML ({exc}); fix it by hand or restore it"
        ) from None
    if not isinstance(root, MappingNode):
        raise EditError("the file is not a mapping of keys; fix it by hand or restore it")
    return root


def _rows(root: MappingNode) -> SequenceNode:
    found = _pair(root, "fields")
    if found is None or not isinstance(found[2], SequenceNode):
        raise EditError("the file has no fields: list")
    rows = found[2]
    if rows.flow_style or not rows.value:
        raise EditError("fields: is written as a [...] list; edit the file by hand")
    return rows


def apply_edit(text: str, edit: FileEdit) -> str:
    """The file's text with ``edit`` applied; everything the edit does not touch is kept."""
    if edit.empty:
        return text
    if not text.endswith("\n"):
        text += "\n"  # every line, the last too, ends where an added line can start
    root = _compose(text)
    splicer = _Splicer(text)
    for key in sorted(edit.top_set, key=lambda k: TOP_KEYS.index(k) if k in TOP_KEYS else 99):
        splicer.set_pair(root, key, edit.top_set[key], TOP_KEYS)
    for key in edit.top_drop:
        splicer.drop_pair(root, key)
    rows = _rows(root)
    for change in edit.rows:
        if change.index is None:
            if not change.remove:
                _add_row(splicer, rows, change.set)
            continue
        row = rows.value[change.index]
        if not isinstance(row, MappingNode):
            raise EditError(f"fields[{change.index}] is not a map of keys; edit it by hand")
        if change.remove:
            _remove_row(splicer, row)
            continue
        for key in sorted(change.set, key=_rank):
            splicer.set_pair(row, key, change.set[key], ROW_KEYS)
        for key in change.drop:
            splicer.drop_pair(row, key)
    return splicer.result()


def _rank(key: str) -> int:
    return ROW_KEYS.index(key) if key in ROW_KEYS else len(ROW_KEYS)


def _row_prefix(text: str, rows: SequenceNode) -> str:
    """What starts a row's line (``"  - "``), copied from the first row."""
    first = rows.value[0]
    prefix = text[_line_start(text, first.start_mark.index):first.start_mark.index]
    return prefix if re.fullmatch(r" *- +", prefix) else "  - "


def _add_row(splicer: _Splicer, rows: SequenceNode, values: dict[str, Any]) -> None:
    ordered = {k: values[k] for k in ROW_KEYS if k in values}
    ordered.update({k: v for k, v in values.items() if k not in ordered})
    at = _next_line(splicer.text, _content_end(rows))
    splicer.add(at, at, _row_prefix(splicer.text, rows) + flow(ordered) + "\n")


def _remove_row(splicer: _Splicer, row: MappingNode) -> None:
    """Remove a row's lines and the comment lines right above it (they describe that row)."""
    text = splicer.text
    start = _line_start(text, row.start_mark.index)
    dash_indent = len(text[start:]) - len(text[start:].lstrip(" "))
    while start > 0:
        above = _line_start(text, start - 1)
        line = text[above:start - 1]
        if not line.lstrip().startswith("#") or len(line) - len(line.lstrip(" ")) != dash_indent:
            break
        start = above
    splicer.add(start, _next_line(text, _content_end(row)), "")


# -- diffs ---------------------------------------------------------------------------------------


def unified_diff(old: str, new: str, name: str) -> str:
    """A unified diff of two versions of a file, as ``git diff`` shows it."""
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"a/{name}", tofile=f"b/{name}",
    ))


def diff_counts(diff: str) -> tuple[int, int]:
    """Lines added and removed in a unified diff."""
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed
