"""Check a loaded mapping against the remote's ``describe()`` before anything is written.

The loader knows the hub side; only the remote knows whether ``Lead.Country`` exists, is
writable, holds 80 characters or is a restricted picklist. Each finding is a :class:`Problem`
naming ``file:line keypath`` like the loader's errors, with a message that says what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Literal

from connectors.base import Connector, FieldInfo, ObjectInfo
from connectors.errors import picklist_hint
from core.hubschema import HubField, HubSchema
from core.yamlsource import KeyPath, line_of
from mappings.hints import taken_targets
from mappings.loader import locate
from mappings.spec import FieldMap, Mapping

#: How many allowed picklist values a message lists before "… and N more".
_LIST_LIMIT = 15

#: Remote types that hold text, and the hub types each remote type naturally carries.
_TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url", "picklist", "multipicklist"})
#: Longest output of transforms that bound their output, whatever goes in.
_OUTPUT_LENGTH = {"country_code": 2, "sha256": 64, "phone_e164": 16}
_COMPATIBLE = {
    "string": _TEXT_TYPES | {"id", "reference"},
    "text": _TEXT_TYPES,
    "ref": frozenset({"id", "reference", "string"}),
    "integer": frozenset({"integer", "number"}),
    "number": frozenset({"number", "integer"}),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date", "datetime"}),
    "datetime": frozenset({"datetime", "date"}),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``error`` stops a sync from working, ``warning`` may fail some records."""

    level: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"


class _Checker:
    """Collects problems for one mapping against one remote object."""

    def __init__(
        self,
        mapping: Mapping,
        obj: ObjectInfo,
        hub_schema: HubSchema,
        objects: MappingABC[str, ObjectInfo] | None = None,
    ) -> None:
        self.mapping = mapping
        self.obj = obj
        #: Every object described, for rows that look records up in another one.
        self.objects = objects or {obj.name: obj}
        self.hub_fields: MappingABC[str, HubField] = hub_schema.objects.get(mapping.hub_object, {})
        self.found: list[tuple[int, Problem]] = []

    def add(self, level: Literal["error", "warning"], path: KeyPath, message: str) -> None:
        line = line_of(self.mapping._lines, path) or 0
        self.found.append((line, Problem(level, locate(self.mapping, path), message)))

    def unknown(self, name: str) -> str:
        """Message for a remote field the object does not have, with close matches."""
        fields = self.obj.fields
        same_case = [f for f in fields if f.casefold() == name.casefold()]
        if same_case:
            return (
                f"{self.obj.name} has no field {name!r}; did you mean {same_case[0]!r}? "
                "(names are case-sensitive)"
            )
        close = get_close_matches(name, fields, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"{self.obj.name} has no field {name!r}{hint}"

    def run(self) -> list[Problem]:
        pushed: dict[str, int] = {}  # remote field → index of the row writing it
        for i, row in enumerate(self.mapping.fields):
            info = self.obj.fields.get(row.remote)
            if info is None:
                self.add("error", ("fields", i, "remote"), self.unknown(row.remote))
                continue
            if row.fallback and row.fallback not in self.obj.fields:
                self.add("error", ("fields", i, "fallback"), self.unknown(row.fallback))
            if row.pushes(self.mapping.direction):
                pushed[row.remote] = i
                self.check_writable(i, info)
                self.check_length(i, row, info)
                self.check_picklist(i, row, info)
            self.check_types(i, row, info)
            self.check_lookup(i, row)
        self.check_required(pushed)
        self.check_external_id()
        self.check_pull_rule()
        # In file order, as an admin reads them; stable, so one line's problems keep their order.
        return [problem for _, problem in sorted(self.found, key=lambda found: found[0])]

    def check_writable(self, i: int, info: FieldInfo) -> None:
        at = ("fields", i, "remote")
        name = f"{self.obj.name}.{info.name}"
        if not info.createable and not info.updateable:
            self.add("error", at, f"{name} is read-only; make the row rule: to_hub")
        elif not info.updateable and not (self.mapping.fields[i].ref
                                          or self.mapping.fields[i].lookup):
            # A ref on a create-only field is a join record's parent (CampaignMember.LeadId),
            # a lookup its kind (CampaignInfluence.ModelId): neither changes in the hub either,
            # so there is nothing to warn about.
            self.add("warning", at, f"{name} is set on create only; later changes won't reach it")
        elif not info.createable:
            self.add("warning", at, f"{name} cannot be set on create, only by later updates")

    def check_length(self, i: int, row: FieldMap, info: FieldInfo) -> None:
        if info.length is None or info.type not in _TEXT_TYPES:
            return
        hub_field = self.hub_fields.get(row.hub or "")
        limit = hub_field.max_length if hub_field is not None else None
        what = f"hub {row.hub} holds up to {limit} characters"
        path: KeyPath = ("fields", i, "remote")
        # Follow the pipeline: a transform may bound (or unbound) what reaches the remote.
        for j, spec in enumerate(row.transform):
            name, arg = (spec, None) if isinstance(spec, str) else next(iter(spec.items()))
            if name == "truncate" and isinstance(arg, int):
                limit, what = arg, f"truncates to {arg} characters"
                path = ("fields", i, "transform", j)
            elif name in _OUTPUT_LENGTH:
                limit, what = _OUTPUT_LENGTH[name], f"{name} gives up to {_OUTPUT_LENGTH[name]}"
            elif name in ("date", "datetime"):
                limit = None  # as long as its format: not worth guessing
        if limit is not None and limit > info.length:
            self.add(
                "warning",
                path,
                f"{what}, {info.name} only {info.length}: longer values will fail; "
                f"add {{truncate: {info.length}}} as the last transform",
            )
        too_long = [str(v) for _, v in row.value_map_pairs() if len(str(v)) > info.length]
        if too_long:
            self.add(
                "error",
                ("fields", i, "value_map"),
                f"{_listing(too_long)} {_are(too_long)} longer than {info.name} holds "
                f"({info.length} characters)",
            )

    def check_picklist(self, i: int, row: FieldMap, info: FieldInfo) -> None:
        if not info.picklist_values:
            return
        allowed = set(info.picklist_values)
        listed = _listing(info.picklist_values)
        bad = [str(v) for _, v in row.value_map_pairs() if str(v) not in allowed]
        if not info.restricted_picklist:
            # The CRM stores a value its open picklist lacks, but reports and list views only
            # offer the listed ones: a Lead Status nobody added is a status nobody can pick.
            if bad:
                self.add("warning", ("fields", i, "value_map"),
                         f"{_listing(bad)} {_are(bad)} not among the values of the picklist "
                         f"{info.name}; add {'them' if len(bad) > 1 else 'it'} there, or map "
                         f"to one of: {listed}")
            return
        if bad:
            self.add(
                "error",
                ("fields", i, "value_map"),
                f"{_listing(bad)} {_are(bad)} not in the restricted picklist {info.name}; "
                f"allowed: {listed}",
            )
        hub_field = self.hub_fields.get(row.hub or "")
        choices = hub_field.choices if hub_field is not None else ()
        constant = _string_literal(row.expr)
        if constant is not None:
            # An expression that is one quoted value: check the value itself.
            if constant not in allowed:
                self.add(
                    "error",
                    ("fields", i, "expr"),
                    f"{constant!r} is not in the restricted picklist {info.name}; "
                    f"allowed: {listed}",
                )
        elif choices:
            mapped = row.value_map_written()
            for choice in choices:
                if str(mapped.get(choice, choice)) not in allowed:
                    # The same fix, in the same words, as the hint of a record that failed.
                    taken = taken_targets(row, self.mapping, choice)
                    self.add(
                        "error",
                        ("fields", i, "value_map"),
                        picklist_hint(info.name, choice, info.picklist_values, taken),
                    )
        elif not row.value_map:
            self.add(
                "warning",
                ("fields", i, "remote"),
                f"{info.name} is a restricted picklist and this row has no value_map: hub values "
                f"outside it will fail; allowed: {listed}",
            )

    def check_types(self, i: int, row: FieldMap, info: FieldInfo) -> None:
        hub_field = self.hub_fields.get(row.hub or "")
        if any("." in ref for ref in row.refs):
            return  # object.field refs compare the remote value with that field, not the id
        if hub_field is None or row.expr is not None or row.value_map or row.transform:
            return  # a value_map or transform is the admin saying how the types meet
        fits = _COMPATIBLE.get(hub_field.type)
        if fits is None or info.type in fits:
            return
        self.add(
            "warning",
            ("fields", i, "remote"),
            f"hub {hub_field.name} is {hub_field.type} but {info.name} is {info.type}; "
            "add a value_map or transform, or map a field of a matching type",
        )

    def check_lookup(self, i: int, row: FieldMap) -> None:
        target = row.lookup_target
        if target is None:
            return
        obj_name, field_name = target
        at: KeyPath = ("fields", i, "lookup")
        looked_in = self.objects.get(obj_name)
        if looked_in is None:
            self.add("error", at, f"connection {self.mapping.connection!r} has no object "
                     f"{obj_name!r} to look {row.hub} up in")
        elif field_name not in looked_in.fields:
            self.add("error", at, f"{obj_name} has no field {field_name!r}")

    def check_required(self, pushed: MappingABC[str, int]) -> None:
        m = self.mapping
        if not (m.create.remote and m.direction.pushes):
            return
        # Point at create.remote when the file spells it out, else at the field list.
        at: KeyPath = ("create", "remote") if ("create", "remote") in m._lines else ("fields",)
        for info in self.obj.fields.values():
            if not info.required or not info.createable or info.name == m.identity.external_id:
                continue
            if info.name not in pushed:
                hint = get_close_matches(info.name.lower(), self.hub_fields, n=1)
                example = f"{{hub: {hint[0]}, remote: {info.name}}}" if hint else "a row for it"
                self.add(
                    "error",
                    at,
                    f"{self.obj.name} requires {info.name} on create but no row writes it; "
                    f"add {example} or set create: {{remote: false}}",
                )
                continue
            row = m.fields[pushed[info.name]]
            # A blank ref waits for its record (UNRESOLVED_REFERENCE); a default id means nothing,
            # and a lookup's values are checked against the remote's records (missing_lookups).
            if row.default is None and row.expr is None and not row.ref and not row.lookup:
                self.add(
                    "warning",
                    ("fields", pushed[info.name], "remote"),
                    f"{info.name} is required on create: records with a blank "
                    f"{row.hub} will fail; add default: (e.g. default: \"[not provided]\")",
                )

    def check_external_id(self) -> None:
        name = self.mapping.identity.external_id
        if name is None:
            return
        at = ("identity", "external_id")
        info = self.obj.fields.get(name)
        if info is None:
            self.add("error", at, self.unknown(name))
        elif not (info.external_id or info.unique):
            self.add(
                "warning",
                at,
                f"{self.obj.name}.{name} is neither an external id nor unique: a create repeated "
                "after a crash could duplicate the record",
            )

    def check_pull_rule(self) -> None:
        expr = self.mapping._pull_rule
        if expr is None:
            return
        for name in sorted(expr.names):
            if name not in self.obj.fields:
                self.add("error", ("pull_rule",), self.unknown(name))


def _are(values: list[str]) -> str:
    return "is" if len(values) == 1 else "are"


def _listing(values: Iterable[str]) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_LIST_LIMIT])
    more = len(values) - _LIST_LIMIT
    return f"{shown} … and {more} more" if more > 0 else shown


def check_against_remote(
    mapping: Mapping, objects: dict[str, ObjectInfo], hub_schema: HubSchema
) -> list[Problem]:
    """Every problem of a loaded mapping against the remote objects ``describe()`` returned."""
    obj = objects.get(mapping.remote_object)
    if obj is None:
        close = get_close_matches(mapping.remote_object, objects, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = _listing(sorted(objects))
        return [
            Problem(
                "error",
                locate(mapping, ("remote_object",)),
                f"connection {mapping.connection!r} has no object {mapping.remote_object!r} "
                f"({hint}known: {known})",
            )
        ]
    return _Checker(mapping, obj, hub_schema, objects).run()


def lookup_objects(mapping: Mapping) -> list[str]:
    """Remote objects a mapping's ``lookup:`` rows read, to describe beside its own."""
    return sorted({t[0] for row in mapping.fields if (t := row.lookup_target)})


def _string_literal(expr: str | None) -> str | None:
    """The value of an expression that is just one quoted string (``"'Lead'"``), else None."""
    text = (expr or "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[0] not in text[1:-1]:
        return text[1:-1]
    return None


def missing_lookups(
    mapping: Mapping,
    connector: Connector,
    expected: MappingABC[str, Sequence[str]],
    how_to_create: str = "",
) -> list[Problem]:
    """Values a ``lookup:`` row will send that name no remote record (one query per row).

    ``expected``: hub field → the values it will hold (the attribution models, for the
    Campaign Influence mapping); rows of other fields are not checked. ``how_to_create``
    says where an admin makes a missing one (``{value}`` stands for its name).
    """
    problems: list[Problem] = []
    for i, row in enumerate(mapping.fields):
        target = row.lookup_target
        values = expected.get(row.hub or "") if target else None
        if not target or not values:
            continue
        obj, field_name = target
        found = {str(c.fields.get(field_name, "")).casefold()
                 for c in connector.lookup(obj, field_name, list(values), fields=[field_name])}
        for value in values:
            if value.casefold() not in found:
                how = f" ({how_to_create.format(value=value)})" if how_to_create else ""
                problems.append(Problem(
                    "error", locate(mapping, ("fields", i, "lookup")),
                    f"no {obj} has {field_name} {value!r}: create it{how}, or its records fail "
                    "until it exists",
                ))
    return problems
