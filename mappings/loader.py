"""Load mapping files: parse with line numbers, validate shape and meaning, compile the rows.

Every problem becomes an :class:`~core.errors.InputError` whose ``where`` is
``file:line keypath`` (``mappings/sf-lead.yaml:14 fields.country.value_map``), and all of them
are collected, across every file, before anything is raised: an admin fixes a directory of
mappings in one pass instead of one error per run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import InputError, InputErrors
from core.hubschema import SYSTEM_FIELDS, HubField, HubSchema
from core.validation import problems
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml_file
from mappings.expressions import Expression, ExpressionError
from mappings.rules import Direction, FieldRule
from mappings.schedule import parse_schedule
from mappings.spec import FieldMap, Mapping
from mappings.transforms import compile_row, make_transform

_KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

#: What an enum-valued key is called in "'x' is not a <noun>" messages.
_NOUNS = {
    "rule": "rule",
    "direction": "direction",
    "conflicts": "conflicts policy",
    "from_remote": "delete policy",
    "from_hub": "delete policy",
    "on_field_error": "field error policy",
}

@dataclass
class _File:
    """One mapping file being loaded: its raw data and line table, and the errors found so far."""

    source: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    row_labels: list[str] = field(default_factory=list)
    _found: list[tuple[int, InputError]] = field(default_factory=list)

    @property
    def errors(self) -> list[InputError]:
        """Problems found so far, in line order (stable, so same-line ones keep their order)."""
        return [error for _, error in sorted(self._found, key=lambda found: found[0])]

    def label(self, path: KeyPath) -> str:
        """Key path as admins read it: rows by their hub (or remote) field, not their index."""
        return _label(self.row_labels, path)

    def where(self, path: KeyPath) -> str:
        """``file:line keypath`` for ``path`` (the line of its key, or of its nearest parent)."""
        return _where(self.source, self.lines, self.row_labels, path)

    def line(self, path: KeyPath) -> int:
        """Return the line of ``path``, or of its nearest parent."""
        return line_of(self.lines, path) or 1

    def error(self, path: KeyPath, message: str) -> None:
        """Record a problem at ``path``."""
        self._found.append((self.line(path), InputError(self.where(path), message)))

    def has(self, *path: str | int) -> bool:
        """Return whether the file spells out this key (rather than leaving it to a default)."""
        return tuple(path) in self.lines


def _row_labels(rows: Any) -> list[str]:
    """``fields.<hub>`` when unique, else ``fields.<hub>→<remote>``; computed rows by remote."""
    if not isinstance(rows, list):
        return []
    pairs = [(r.get("hub"), r.get("remote")) if isinstance(r, dict) else (0, 0) for r in rows]
    hubs = Counter(hub for hub, _ in pairs if isinstance(hub, str))
    labels: list[str] = []
    for index, (hub, remote) in enumerate(pairs):
        if isinstance(hub, str) and hubs[hub] == 1:
            labels.append(f"fields.{hub}")
        elif isinstance(hub, str) and isinstance(remote, str):
            labels.append(f"fields.{hub}→{remote}")
        elif hub is None and isinstance(remote, str):
            labels.append(f"fields.{remote}")
        else:
            labels.append(f"fields[{index}]")
    return labels


def _label(row_labels: list[str], path: KeyPath) -> str:
    if len(path) >= 2 and path[0] == "fields" and isinstance(path[1], int):
        index = path[1]
        row = row_labels[index] if index < len(row_labels) else f"fields[{index}]"
        rest = format_path(path[2:])
        if not rest:
            return row
        return f"{row}{rest}" if rest.startswith("[") else f"{row}.{rest}"
    return format_path(path)


def _where(source: str, lines: dict[KeyPath, int], row_labels: list[str], path: KeyPath) -> str:
    line = line_of(lines, path)
    label = _label(row_labels, path)
    place = f"{source}:{line}" if line else source
    return f"{place} {label}" if label else place


def locate(mapping: Mapping, path: KeyPath) -> str:
    """``file:line keypath`` for a key path of a loaded mapping, as the loader's errors name it."""
    rows = [{"hub": row.hub, "remote": row.remote} for row in mapping.fields]
    return _where(mapping.source, mapping._lines, _row_labels(rows), path)


# --- structure: pydantic errors in plain English -----------------------------------------------


def _mapping_wording(error: MappingABC[str, Any], path: KeyPath) -> str | None:
    """Messages only a mapping needs: a transform entry's shape, an empty field list."""
    if error["type"] in ("missing", "extra_forbidden", "enum", "literal_error") \
            or "[key]" in error["loc"]:
        return None
    if len(path) == 4 and path[0] == "fields" and path[2] == "transform":
        return "expected a transform name or {name: argument}"
    if error["type"] == "too_short" and path == ("fields",):
        return "needs at least one field row"
    return None


def _validate_structure(f: _File) -> Mapping | None:
    if f.data is None:
        f.error((), "empty file: expected a mapping with name, connection, hub_object, ...")
        return None
    try:
        return Mapping.model_validate(f.data)
    except ValidationError as exc:
        for path, message in problems(Mapping, f.data, exc, nouns=_NOUNS,
                                      override=_mapping_wording):
            f.error(path, message)
        return None


# --- meaning: checks that need the hub schema and the whole mapping ----------------------------


def _unknown_field(name: str, hub_object: str, hub_fields: MappingABC[str, HubField]) -> str:
    if name in SYSTEM_FIELDS:
        return f"{name!r} is managed by Syncline and cannot be mapped"
    close = get_close_matches(name, hub_fields, n=3)
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else "declare custom fields in hub.yaml"
    )
    return f"{name!r} is not a field of hub object {hub_object!r} ({hint})"


def _check_names(
    f: _File, path: KeyPath, expr: Expression, m: Mapping, hub_fields: MappingABC[str, HubField]
) -> None:
    """Expressions over hub records may read the object's fields and its ``id``."""
    for name in sorted(expr.names - set(hub_fields) - {"id"}):
        f.error(path, _unknown_field(name, m.hub_object, hub_fields))


def _compile_expression(f: _File, path: KeyPath, source: str) -> Expression | None:
    try:
        return Expression(source)
    except ExpressionError as exc:
        f.error(path, exc.reason)
        return None


def _check_top(
    f: _File, m: Mapping, hub_schema: HubSchema, connections: MappingABC[str, Any] | None
) -> MappingABC[str, HubField] | None:
    if not _KEBAB.fullmatch(m.name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", m.name.lower()).strip("-") or "salesforce-lead"
        f.error(
            ("name",),
            f"{m.name!r} is not kebab-case (lowercase letters, digits and dashes, "
            f"e.g. {suggestion!r})",
        )
    if connections is not None and m.connection not in connections:
        known = ", ".join(sorted(connections)) or "none"
        f.error(
            ("connection",),
            f"no connection named {m.connection!r} in the connections file (known: {known})",
        )
    try:
        parse_schedule(m.schedule)
    except ValueError as exc:
        f.error(("schedule",), str(exc))
    if m.pull_rule is not None:
        # Its names are remote fields: only describe() knows them (mappings/check.py).
        _compile_expression(f, ("pull_rule",), m.pull_rule)
    hub_fields = hub_schema.objects.get(m.hub_object)
    if hub_fields is None:
        close = get_close_matches(m.hub_object, hub_schema.objects, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = ", ".join(sorted(hub_schema.objects))
        f.error(("hub_object",), f"unknown hub object {m.hub_object!r} ({hint}known: {known})")
    if m.sync_rule is not None:
        expr = _compile_expression(f, ("sync_rule",), m.sync_rule)
        if expr is not None and hub_fields is not None:
            _check_names(f, ("sync_rule",), expr, m, hub_fields)
    return hub_fields


def _check_row(
    f: _File, i: int, row: FieldMap, m: Mapping, hub_fields: MappingABC[str, HubField] | None
) -> None:
    at = ("fields", i)
    pushes, pulls = row.pushes(m.direction), row.pulls(m.direction)
    if row.hub is not None and row.expr is not None:
        f.error(at + ("expr",), "a row has either hub: (a hub field) or expr: (a computed value)")
    elif row.hub is None and row.expr is None:
        f.error(at, "needs hub: (a hub field) or expr: (a computed value)")
    if row.hub is not None and hub_fields is not None and row.hub not in hub_fields:
        f.error(at + ("hub",), _unknown_field(row.hub, m.hub_object, hub_fields))
    if row.expr is not None:
        if row.rule is not FieldRule.TO_REMOTE:
            f.error(at + ("rule",), "a computed row (expr:) must have rule: to_remote")
        expr = _compile_expression(f, at + ("expr",), row.expr)
        if expr is not None and hub_fields is not None:
            _check_names(f, at + ("expr",), expr, m, hub_fields)
    elif row.hub is not None and row.rule is not FieldRule.NONE and not (pushes or pulls):
        f.error(
            at + ("rule",),
            f"rule {row.rule.value} never runs in a direction: {m.direction.value} mapping",
        )
    for j, spec in enumerate(row.transform):
        try:
            transform = make_transform(spec)
        except ValueError as exc:
            f.error(at + ("transform", j), str(exc))
            continue
        if pushes and pulls and not transform.reversible:
            f.error(
                at + ("transform", j),
                f"{transform.name} cannot be reversed, but this row also pulls "
                f"(rule {row.rule.value}, direction {m.direction.value}); use rule: to_remote",
            )
    if row.value_map and pulls:
        _check_injective(f, at + ("value_map",), row)
    if row.value_map and any(isinstance(v, list) and not v for v in row.value_map.values()):
        f.error(at + ("value_map",), "an empty list maps to no remote value; give it one or more")
    if row.rule is FieldRule.FORWARD and not row.value_map:
        f.error(at + ("rule",), "rule forward moves a value only to a later one: give the row a "
                "value_map listing the values in order")
    if row.lookup is not None:
        _check_lookup(f, at, row)
    if row.fallback is not None:
        _check_fallback(f, at, row, pushes)
    if row.ref is not None and row.hub is not None and hub_fields is not None:
        hub_field = hub_fields.get(row.hub)
        if hub_field is not None and hub_field.type != "ref":
            f.error(
                at + ("ref",),
                f"{row.hub!r} is a {hub_field.type} field; ref: needs a reference field "
                "(such as account_id)",
            )


def _check_lookup(f: _File, at: KeyPath, row: FieldMap) -> None:
    """A ``lookup:`` row sends the id of the remote record its hub value names: push only."""
    obj, _, name = (row.lookup or "").partition(".")
    if not obj or not name or "." in name:
        f.error(at + ("lookup",), f"{row.lookup!r} should be Object.Field, such as "
                "CampaignInfluenceModel.DeveloperName")
    if row.hub is None:
        f.error(at + ("lookup",), "a lookup row needs hub: (the field holding the name)")
    if row.rule is not FieldRule.TO_REMOTE:
        f.error(at + ("rule",), "a lookup row only writes ids: give it rule: to_remote")
    if row.ref is not None:
        f.error(at + ("lookup",), "a row has either ref: (a hub link) or lookup: (a remote "
                "record by a field), not both")
    if row.transform or row.value_map:
        f.error(at + ("lookup",), "a lookup row compares the hub value as it is: "
                "no transform or value_map")


def _check_fallback(f: _File, at: KeyPath, row: FieldMap, pushes: bool) -> None:
    """A ``fallback:`` row reads one of two remote fields: it cannot write either back."""
    if pushes:
        f.error(at + ("fallback",), "a fallback row only reads (it could not say which field "
                "to write): give it rule: to_hub")
    if row.fallback == row.remote:
        f.error(at + ("fallback",), f"the fallback is {row.remote!r} itself; name another field")


def _check_injective(f: _File, path: KeyPath, row: FieldMap) -> None:
    """Check a pulled value maps back to one hub value: no two keys may share a value."""
    keys_by_value: dict[str, list[str]] = {}
    for key, value in row.value_map_pairs():
        keys_by_value.setdefault(repr(value), []).append(key)
    for value, keys in keys_by_value.items():
        if len(keys) > 1:
            listed = " and ".join(repr(k) for k in keys)
            f.error(
                path,
                f"keys {listed} all map to {value}, so a pulled {value} cannot be mapped back; "
                "keep one key or make the row rule: to_remote",
            )


def _check_sources(f: _File, m: Mapping) -> None:
    """One pushing row per remote field; one pulling row per hub field."""
    pushers: dict[str, int] = {}
    pullers: dict[str, int] = {}
    for i, row in enumerate(m.fields):
        if row.pushes(m.direction):
            # Salesforce and Dataverse field names are case-insensitive.
            first = pushers.setdefault(row.remote.casefold(), i)
            if first != i:
                f.error(
                    ("fields", i, "remote"),
                    f"{row.remote} is already written by {f.label(('fields', first))} "
                    f"(line {f.line(('fields', first))}); a remote field takes exactly one source",
                )
        if row.pulls(m.direction) and row.hub is not None:
            first = pullers.setdefault(row.hub, i)
            # Several ref rows may fill one hub field: a CampaignMember names its person by
            # LeadId or by ContactId, and only the one that resolves to a linked record counts.
            if first != i and not (row.ref and m.fields[first].ref):
                f.error(
                    ("fields", i, "hub"),
                    f"{row.hub} is already pulled by {f.label(('fields', first))} "
                    f"(line {f.line(('fields', first))}); a hub field takes one remote source: "
                    "make one of the rows rule: to_remote",
                )


def _check_identity(f: _File, m: Mapping, hub_fields: MappingABC[str, HubField] | None) -> None:
    default = "" if f.has("identity", "match") else " (the default; set identity.match)"
    for k, name in enumerate(m.identity.match):
        path: KeyPath = ("identity", "match", k)
        if hub_fields is not None and name not in hub_fields:
            f.error(path, _unknown_field(name, m.hub_object, hub_fields) + default)
        elif not any(row.hub == name and row.expr is None for row in m.fields):
            f.error(path, f"{name!r} has no field row; match fields must be mapped{default}")
    external_id = m.identity.external_id
    if external_id is not None:
        for i, row in enumerate(m.fields):
            if row.remote.casefold() == external_id.casefold():
                f.error(
                    ("identity", "external_id"),
                    f"{external_id} is also mapped by {f.label(('fields', i))} "
                    f"(line {f.line(('fields', i))}); the external id holds the hub id and "
                    "Syncline writes it itself",
                )
                break


def _check_activity(f: _File, m: Mapping) -> None:
    """``activity`` needs records coming in, of people or members; its ``when`` compiles."""
    activity = m.activity
    assert activity is not None
    if not m.direction.pulls:
        f.error(("activity",), f"activity is recorded from records coming in; a "
                f"{m.direction.value} mapping brings none")
    if m.hub_object not in ("person", "campaign_member"):
        f.error(("activity",), f"activity belongs to a person or campaign_member mapping, not "
                f"{m.hub_object}")
    if activity.membership is not None and m.hub_object != "person":
        f.error(("activity", "membership"), "a campaign_member mapping is the membership "
                "already: membership belongs to a person mapping")
    membership = activity.membership
    if membership is not None and not (membership.campaign or membership.by):
        f.error(("activity", "membership"), "name the campaign: campaign: (a field holding it) "
                "or by: with campaigns: (a field picking one)")
    if membership is not None and membership.by and not membership.campaigns:
        f.error(("activity", "membership", "campaigns"), "by: needs campaigns: (value → campaign)")
    for i, touch in enumerate(activity.touches):
        if touch.campaign and m.hub_object == "campaign_member":
            f.error(("activity", "touches", i, "campaign"), "a member's touch belongs to its "
                    "campaign: leave campaign out")
        if touch.when:
            touch._when = _compile_expression(f, ("activity", "touches", i, "when"), touch.when)


def _check_push_only_linked(f: _File, m: Mapping) -> None:
    """Each ``push_only_linked`` field has a row that pushes it through a ``ref``."""
    for k, name in enumerate(m.push_only_linked):
        if not any(row.hub == name and row.ref and row.pushes(m.direction) for row in m.fields):
            f.error(("push_only_linked", k), f"{name!r} has no row that pushes it with a ref: "
                    "only a referenced record can be linked")


def _check_file(
    f: _File, hub_schema: HubSchema, connections: MappingABC[str, Any] | None
) -> Mapping | None:
    m = _validate_structure(f)
    if m is None:
        return None
    hub_fields = _check_top(f, m, hub_schema, connections)
    for i, row in enumerate(m.fields):
        _check_row(f, i, row, m, hub_fields)
    _check_sources(f, m)
    _check_push_only_linked(f, m)
    if m.identity.events:
        if m.direction is not Direction.TO_HUB:
            f.error(("identity", "events"), "events only come in: give the mapping direction: "
                    "to_hub")
        if not m.identity.match:
            f.error(("identity", "match"), "events name their hub record by a match field "
                    "(such as email): list it")
    if m.activity is not None:
        _check_activity(f, m)
    # A misspelt field row (``hub: emial``) would also leave identity.match without its row;
    # report the cause once, not its echo.
    if not f.errors:
        _check_identity(f, m, hub_fields)
    if f.errors:
        return None
    for row in m.fields:
        compile_row(row)
    m._sync_rule = Expression(m.sync_rule) if m.sync_rule else None
    m._pull_rule = Expression(m.pull_rule) if m.pull_rule else None
    m._source = f.source
    m._lines = f.lines
    return m


def _read(path: str | Path) -> _File:
    f = _File(source=display_path(path))
    try:
        f.data, f.lines = load_yaml_file(path)
    except InputError as exc:
        f._found.append((0, exc))
        return f
    if isinstance(f.data, dict):
        f.row_labels = _row_labels(f.data.get("fields"))
    return f


# --- public API --------------------------------------------------------------------------------


def load_mapping(
    path: str | Path, *, hub_schema: HubSchema, connections: MappingABC[str, Any] | None = None
) -> Mapping:
    """Load, validate and compile one mapping file; raise InputErrors listing every problem.

    ``ref:`` rows are checked against other mappings only by :func:`load_mappings`.
    """
    f = _read(path)
    mapping = _check_file(f, hub_schema, connections) if not f.errors else None
    if f.errors or mapping is None:
        raise InputErrors(f.errors)
    return mapping


#: Files of the mappings folder that configure something else than a mapping (the hub schema,
#: the alert rules, the attribution models, the programs, the scoring rules, the lifecycle),
#: spelled ``.yaml``; their ``.yml`` twins are reserved too.
RESERVED_FILES = frozenset({
    "hub.yaml", "alerts.yaml", "attribution.yaml", "programs.yaml", "scoring.yaml",
    "lifecycle.yaml",
})


def is_reserved(path: Path) -> bool:
    """Tell whether a file of the mappings folder is one of the reserved, non-mapping files."""
    return f"{path.stem}.yaml" in RESERVED_FILES


def mapping_paths(directory: Path) -> list[Path]:
    """The mapping files of a folder, sorted: ``*.yaml``/``*.yml`` but reserved and dot files."""
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in (".yaml", ".yml") and not is_reserved(p)
        and not p.name.startswith(".")  # editor and OS droppings
        and p.is_file()
    )


def load_mappings(
    directory: str | Path,
    *,
    hub_schema: HubSchema | None = None,
    connections: MappingABC[str, Any] | None = None,
) -> dict[str, Mapping]:
    """Load every ``*.yaml``/``*.yml`` mapping in ``directory`` (not the reserved files), by name.

    The hub schema defaults to ``directory/hub.yaml``. Problems in all files, duplicate
    names and ``ref:`` rows naming a missing or mismatched mapping are raised together.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(display_path(directory), "not a directory")
    if hub_schema is None:
        hub_schema = HubSchema.load(directory / "hub.yaml")
    paths = mapping_paths(directory)
    errors: list[InputError] = []
    loaded: dict[str, tuple[Mapping, _File]] = {}
    for path in paths:
        f = _read(path)
        mapping = _check_file(f, hub_schema, connections) if not f.errors else None
        if mapping is not None:
            if mapping.name in loaded:
                other = loaded[mapping.name][1]
                f.error(
                    ("name",),
                    f"mapping {mapping.name!r} is already defined in "
                    f"{other.source}:{other.line(('name',))}",
                )
            else:
                loaded[mapping.name] = (mapping, f)
        errors.extend(f.errors)
    for mapping, f in loaded.values():
        errors.extend(_check_refs(f, mapping, loaded, hub_schema))
    if errors:
        raise InputErrors(errors)
    return {name: mapping for name, (mapping, _) in loaded.items()}


def _check_refs(
    f: _File, m: Mapping, loaded: MappingABC[str, tuple[Mapping, _File]], hub_schema: HubSchema
) -> list[InputError]:
    """Check each ``ref:`` names a mapping of the target object on the same connection."""
    errors: list[InputError] = []
    hub_fields = hub_schema.objects[m.hub_object]
    for i, row in enumerate(m.fields):
        if row.hub is None:
            continue
        for k, ref in enumerate(row.refs):
            path: KeyPath = ("fields", i, "ref", k) if isinstance(row.ref, list) else (
                "fields", i, "ref"
            )
            target = hub_fields[row.hub].ref
            other = loaded.get(ref)
            if "." in ref:  # object.field: the remote holds that field's value, e.g. an email
                obj, _, name = ref.partition(".")
                if obj != target:
                    message = f"{ref!r} names {obj!r}, but {row.hub} points at {target}"
                elif name not in hub_schema.objects.get(obj, {}):
                    message = f"{obj} has no field {name!r}"
                elif row.pulls(m.direction) and name != "email":
                    message = (f"{ref!r} cannot find a record when read (only an email names "
                               "one): give this row rule: to_remote")
                else:
                    continue
            elif other is None:
                known = ", ".join(sorted(loaded)) or "none"
                message = f"no mapping named {ref!r} (known: {known})"
            elif other[0].hub_object != target:
                message = (
                    f"mapping {ref!r} syncs {other[0].hub_object}, but {row.hub} points at "
                    f"{target}"
                )
            elif other[0].connection != m.connection:
                message = (
                    f"mapping {ref!r} uses connection {other[0].connection!r}, this one "
                    f"{m.connection!r}; remote ids only make sense on the same connection"
                )
            else:
                continue
            errors.append(InputError(f.where(path), message))
    return errors
