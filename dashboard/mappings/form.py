"""The edit form: its rows as the file has them or as posted, and the edit they amount to.

Inputs are named ``rows-<n>-<key>`` (``rows-10-value_map``) where ``n`` is the row's position
in the form; ``rows-<n>-index`` holds its position in the file (blank for an added row). A
value is only written back when its text differs from how the form showed the file's value,
so an untouched form is no edit at all and saving it leaves the file byte-for-byte as it was.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from dashboard.mappings.editor import FileEdit, RowEdit
from dashboard.mappings.syntax import (
    SyntaxTextError,
    default_text,
    parse_transform,
    parse_value,
    parse_value_map,
    transform_text,
    value_map_text,
)
from mappings.rules import FieldRule

#: Most rows a posted form may have (a guard against absurd row counts, not a real limit).
MAX_ROWS = 500
RULES = [rule.value for rule in FieldRule]
TEXT_KEYS = ("transform", "value_map", "default")


@dataclass
class RowForm:
    """One field row as the form shows it."""

    position: int
    index: int | None = None
    hub: str = ""
    remote: str = ""
    rule: str = FieldRule.TWO_WAY.value
    transform: str = ""
    value_map: str = ""
    default: str = ""
    remove: bool = False
    #: Shown, not edited here: a computed row's expression and a reference row's mappings.
    expr: str | None = None
    ref: str | None = None

    @property
    def label(self) -> str:
        """How problems name the row (``lead_source → LeadSource``)."""
        source = self.hub or (f"expr {self.expr}" if self.expr else "new row")
        return f"{source} → {self.remote or '?'}"


@dataclass
class EditForm:
    """The whole form: rows plus the rules, and the hash of the file it was made from."""

    rows: list[RowForm]
    sync_rule: str = ""
    pull_rule: str = ""
    base_digest: str = ""
    problems: list[str] = field(default_factory=list)

    def add_blank_row(self) -> None:
        """One more, empty row at the end ("Add field row")."""
        self.rows.append(RowForm(position=len(self.rows)))

    def anchors(self) -> dict[int, str]:
        """Fieldset ids by position: ``row-<hub>`` where the hub field names one row only."""
        counts: dict[str, int] = {}
        for row in self.rows:
            if row.index is not None and row.hub:
                counts[row.hub] = counts.get(row.hub, 0) + 1
        return {
            row.position: f"row-{row.hub}"
            if row.index is not None and row.hub and counts[row.hub] == 1
            else f"row-{row.position}"
            for row in self.rows
        }


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def from_data(data: MappingABC[str, Any], digest: str) -> EditForm:
    """The form for a file's data as it is now."""
    rows = []
    for i, row in enumerate(data.get("fields") or []):
        row = row if isinstance(row, dict) else {}
        ref = row.get("ref")
        rows.append(RowForm(
            position=i,
            index=i,
            hub=_text(row.get("hub")),
            remote=_text(row.get("remote")),
            rule=_text(row.get("rule") or FieldRule.TWO_WAY.value),
            transform=transform_text(row.get("transform")),
            value_map=value_map_text(row.get("value_map")),
            default=default_text(row.get("default")),
            expr=_text(row["expr"]) if row.get("expr") is not None else None,
            ref=", ".join(ref) if isinstance(ref, list) else (str(ref) if ref else None),
        ))
    return EditForm(
        rows=rows,
        sync_rule=_text(data.get("sync_rule")),
        pull_rule=_text(data.get("pull_rule")),
        base_digest=digest,
    )


def from_post(form: MappingABC[str, str], data: MappingABC[str, Any]) -> EditForm:
    """The form as posted; read-only parts (expr, ref) come from the file's ``data``."""
    try:
        count = min(max(int(form.get("row_count", "0")), 0), MAX_ROWS)
    except ValueError:
        count = 0
    file_rows = data.get("fields") or []
    rows = []
    for n in range(count):
        def get(key: str, n: int = n) -> str:
            return form.get(f"rows-{n}-{key}", "")

        index_text = get("index")
        index = int(index_text) if index_text.isdigit() else None
        if index is not None and index >= len(file_rows):
            index = None
        original = file_rows[index] if index is not None and isinstance(
            file_rows[index], dict) else {}
        ref = original.get("ref")
        rows.append(RowForm(
            position=n,
            index=index,
            hub=get("hub").strip(),
            remote=get("remote").strip(),
            rule=get("rule") or FieldRule.TWO_WAY.value,
            transform=get("transform"),
            value_map=get("value_map"),
            default=get("default"),
            remove=bool(get("remove")),
            expr=_text(original["expr"]) if original.get("expr") is not None else None,
            ref=", ".join(ref) if isinstance(ref, list) else (str(ref) if ref else None),
        ))
    return EditForm(
        rows=rows,
        sync_rule=form.get("sync_rule", ""),
        pull_rule=form.get("pull_rule", ""),
        base_digest=form.get("base_digest", ""),
    )


def to_edit(form: EditForm, data: MappingABC[str, Any]) -> tuple[FileEdit, list[tuple[str, str]]]:
    """The changes the form makes to the file's ``data``, and the form's syntax problems.

    Problems are (key path, message) pairs: (``fields.lead_source.value_map``, "line 2 ...").
    """
    edit = FileEdit()
    problems: list[tuple[str, str]] = []
    for key in ("sync_rule", "pull_rule"):
        posted = getattr(form, key).strip()
        if posted != _text(data.get(key)).strip():
            if posted:
                edit.top_set[key] = posted
            else:
                edit.top_drop.append(key)
    file_rows = data.get("fields") or []
    for row in form.rows:
        original = file_rows[row.index] if row.index is not None else None
        if row.index is not None and not isinstance(original, dict):
            continue
        change = RowEdit(row.index, remove=row.remove)
        path = f"fields.{row.hub or row.remote or row.position}"
        if row.index is None and not (row.hub or row.remote or row.transform.strip()
                                      or row.value_map.strip() or row.default.strip()):
            continue  # an added row left blank
        if not row.remove:
            try:
                _compare(row, original or {}, change, new=original is None)
            except _RowError as exc:
                problems.append((f"{path}.{exc.key}", str(exc)))
        if not change.empty:
            edit.rows.append(change)
    return edit, problems


class _RowError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _compare(row: RowForm, original: MappingABC[str, Any], change: RowEdit, new: bool) -> None:
    """Fill ``change`` with the keys whose text differs from the file's."""
    hub_changed = new or row.hub != _text(original.get("hub"))
    if row.expr is None and hub_changed and (row.hub or not new):
        change.set["hub"] = row.hub or None  # None: the loader says a hub field is needed
    if not row.remote:
        raise _RowError("remote", "needs a remote field")
    if new or row.remote != _text(original.get("remote")):
        change.set["remote"] = row.remote
    if row.rule not in RULES:
        raise _RowError("rule", f"{row.rule!r} is not a rule (allowed: {', '.join(RULES)})")
    old_rule = _text(original.get("rule") or FieldRule.TWO_WAY.value)
    if row.rule != old_rule and not (new and row.rule == FieldRule.TWO_WAY.value):
        change.set["rule"] = row.rule
    shown = {
        "transform": transform_text(original.get("transform")),
        "value_map": value_map_text(original.get("value_map")),
        "default": default_text(original.get("default")),
    }
    for key in TEXT_KEYS:
        posted = getattr(row, key)
        if _normal(posted) == _normal(shown[key]):
            continue
        try:
            value: Any
            if key == "transform":
                value = parse_transform(posted)
            elif key == "value_map":
                value = parse_value_map(posted, original.get("value_map"))
            else:
                value = parse_value(posted) if posted.strip() else None
        except SyntaxTextError as exc:
            raise _RowError(key, str(exc)) from None
        if value in (None, [], {}):
            if key in original:
                change.drop.append(key)
        else:
            change.set[key] = value


def _normal(text: str) -> str:
    """Text as compared for "unchanged": browsers send CRLF and may trim or pad lines."""
    return "\n".join(line.strip() for line in text.strip().splitlines())
