"""Mapping files as typed objects: what a mapping says, and the compiled pieces the engine calls.

The YAML is parsed and validated by :mod:`mappings.loader`; this module only declares the shape
(pydantic, ``extra="forbid"`` so a misspelt key is an error) and the runtime behaviour of one
field row: its flow under the rule, and its value pipeline in each direction.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from core.values import blank
from mappings.activity import Activity
from mappings.rules import PULL_RULES, PUSH_RULES, Conflicts, Direction, FieldRule


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldMap(_Strict):
    """One field row: a hub field (or a computed ``expr``) ↔ one remote field."""

    hub: str | None = None
    remote: str
    rule: FieldRule = FieldRule.TWO_WAY
    transform: list[str | dict[str, Any]] = Field(default_factory=list)
    #: Hub value → remote value. A list names every remote value that reads back as this hub
    #: value (a Dynamics statecode Won or Lost is a closed deal); its first is the one written.
    value_map: dict[str, Any] | None = None
    default: Any = None
    expr: str | None = None
    #: Name of another mapping whose links translate this id field (hub id ↔ remote id), or
    #: several when the remote id may name records of either (a marketing list member is a
    #: contact or a lead): the first mapping that knows the id translates it. ``person.email``
    #: instead names a hub field the remote value equals (a campaign response's email); a
    #: push writes that field of the referenced record (a webinar registrant's email and
    #: name, sent as ``person.first_name`` rows with rule: to_remote).
    ref: str | list[str] | None = None
    #: ``Object.Field`` of the remote: the hub value names a remote record by that field and
    #: the row writes that record's id (a Campaign Influence model by its DeveloperName, which
    #: differs from org to org). Push only; looked up once per value and cycle.
    lookup: str | None = None
    #: Remote field read instead when ``remote`` is blank, on a row that only pulls (a Dynamics
    #: deal's ``actualvalue``, else its ``estimatedvalue`` while it is open).
    fallback: str | None = None

    # Compiled by the loader: a callable pipeline for each direction and the expression.
    _to_remote: Any = PrivateAttr(default=None)
    _to_hub: Any = PrivateAttr(default=None)
    _expr: Any = PrivateAttr(default=None)

    @property
    def refs(self) -> tuple[str, ...]:
        """The ``ref`` mapping names, in the order they are tried."""
        if self.ref is None:
            return ()
        return (self.ref,) if isinstance(self.ref, str) else tuple(self.ref)

    def value_map_pairs(self) -> list[tuple[str, Any]]:
        """(hub value, remote value) per remote value the value_map names, lists flattened."""
        pairs: list[tuple[str, Any]] = []
        for key, mapped in (self.value_map or {}).items():
            targets = mapped if isinstance(mapped, list) else [mapped]
            pairs.extend((key, target) for target in targets)
        return pairs

    def value_order(self) -> tuple[tuple[Any, ...], ...]:
        """The value_map's remote values, a step per key in file order (``rule: forward``)."""
        return tuple(
            tuple(mapped) if isinstance(mapped, list) else (mapped,)
            for mapped in (self.value_map or {}).values()
        )

    def value_map_written(self) -> dict[str, Any]:
        """Hub value → the remote value a push writes (a list's first)."""
        return {
            key: (mapped[0] if isinstance(mapped, list) and mapped else mapped)
            for key, mapped in (self.value_map or {}).items()
        }

    @property
    def lookup_target(self) -> tuple[str, str] | None:
        """``(object, field)`` of a ``lookup:`` row, else None."""
        if not self.lookup or "." not in self.lookup:
            return None
        obj, _, name = self.lookup.partition(".")
        return obj, name

    @property
    def label(self) -> str:
        """How errors and previews name this row (``country→CountryCode``)."""
        source = self.hub or (f"expr({self.expr})" if self.expr else "?")
        return f"{source}→{self.remote}"

    def pushes(self, direction: Direction) -> bool:
        """May this row write hub values to the remote under this mapping direction?"""
        return (
            direction.pushes
            and self.rule in PUSH_RULES
            and (self.hub is not None or self.expr is not None)
        )

    def pulls(self, direction: Direction) -> bool:
        """May this row write remote values to the hub under this mapping direction?"""
        return direction.pulls and self.rule in PULL_RULES and self.hub is not None

    def to_remote(self, hub_values: MappingABC[str, Any]) -> Any:
        """The remote value for a hub record (expr or hub field → transforms → value_map → default).

        Raises ``mappings.transforms.TransformError`` naming the transform and value.
        """
        return self._to_remote(hub_values)

    def to_hub(self, remote_value: Any) -> Any:
        """The hub value for a remote value (default → blank, inverse value_map and transforms)."""
        return self._to_hub(remote_value)


class Identity(_Strict):
    """How a hub record and a remote record are known to be the same one."""

    #: Remote field holding the hub id: makes creates idempotent (upsert on it).
    external_id: str | None = None
    #: Hub fields matched against their mapped remote fields before creating anything.
    match: list[str] = Field(default_factory=lambda: ["email"])
    #: Each remote record is an event of a hub record (a form submission of a person): many
    #: of them name the same one through ``match``, each is applied once, and none stays
    #: linked (a second submission is news about the person, not a duplicate of the first).
    events: bool = False


class CreatePolicy(_Strict):
    """Whether unmatched records are created on each side."""

    remote: bool = True
    hub: bool = True
    #: Remote objects on the same connection that take a hub record over: one linked there is
    #: neither matched nor created here (a person who became a Contact gets no new Lead).
    unless_linked_to: list[str] = Field(default_factory=list)


class DeletePolicy(_Strict):
    """What a delete on one side does to the other, and the mass-change brake."""

    from_remote: Literal["ignore", "unlink", "delete_hub"] = "unlink"
    from_hub: Literal["ignore", "unlink", "delete_remote"] = "ignore"
    #: A cycle that would delete or blank more than this share of linked records stops instead.
    max_fraction: float = Field(default=0.05, gt=0, le=1)
    #: Up to this many destructive changes per cycle never trip the brake (small datasets).
    brake_floor: int = Field(default=10, ge=0)


#: What a field the remote refuses for a reason of its own does to its record (a value its
#: picklist lacks, a text too long): ``skip_field`` leaves the field out and syncs the rest,
#: ``fail_record`` fails the whole record (for fields that must never be partial).
OnFieldError = Literal["skip_field", "fail_record"]


class Mapping(_Strict):
    """One hub object ↔ one remote object on one connection, with its rules and field rows."""

    name: str
    connection: str
    hub_object: str
    remote_object: str
    direction: Direction = Direction.BOTH
    schedule: str = "5m"
    enabled: bool = True
    description: str | None = None
    identity: Identity = Field(default_factory=Identity)
    #: Hub records that may go out (an expression over hub fields).
    sync_rule: str | None = None
    #: Remote records that may come in (an expression over remote fields).
    pull_rule: str | None = None
    create: CreatePolicy = Field(default_factory=CreatePolicy)
    deletes: DeletePolicy = Field(default_factory=DeletePolicy)
    conflicts: Conflicts = Conflicts.NEWEST_WINS
    on_field_error: OnFieldError = "skip_field"
    #: Reference fields whose records must already be linked through their row's ``ref`` for
    #: a hub record to go out at all: a Zoom registration belongs to a campaign linked to a
    #: Zoom webinar, and a member of any other campaign is none of the mapping's business
    #: (skipped, no error), where an unlinked reference otherwise waits for its record.
    push_only_linked: list[str] = Field(default_factory=list)
    #: Touches and memberships each pulled record stands for (mappings.activity).
    activity: Activity | None = None
    #: Hub records per push page (the connector still chunks to its own batch size).
    page_size: int = Field(default=500, ge=1, le=10000)
    fields: list[FieldMap] = Field(min_length=1)

    # Set by the loader.
    _source: str = PrivateAttr(default="<memory>")
    _sync_rule: Any = PrivateAttr(default=None)
    _pull_rule: Any = PrivateAttr(default=None)
    #: Line of each key path in the source file, so later checks can name ``file:line``.
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> str:
        """The file this mapping was loaded from."""
        return self._source

    def allows_push(self, hub_values: MappingABC[str, Any]) -> bool:
        """Does ``sync_rule`` let this hub record go out? (no rule: yes)."""
        return self._sync_rule is None or bool(self._sync_rule(hub_values))

    def allows_pull(self, remote_fields: MappingABC[str, Any]) -> bool:
        """Does ``pull_rule`` let this remote record come in? (no rule: yes)."""
        return self._pull_rule is None or bool(self._pull_rule(remote_fields))

    def remote_read_fields(self) -> list[str]:
        """Remote fields to read: every mapped field, the pull_rule's names, the external id."""
        names: list[str] = [row.remote for row in self.fields]
        names.extend(row.fallback for row in self.fields if row.fallback)
        if self._pull_rule is not None:
            names.extend(sorted(self._pull_rule.names))
        if self.identity.external_id:
            names.append(self.identity.external_id)
        if self.activity is not None:
            names.extend(self.activity.remote_fields())
        return list(dict.fromkeys(names))

    def read_fallbacks(self, fields: MappingABC[str, Any]) -> MappingABC[str, Any]:
        """A remote record's fields with each blank ``fallback`` row's field read from its fallback.

        Done once where a page comes in, so the merge, its snapshot and the history all see
        the value the row reads.
        """
        taken = {
            row.remote: fields.get(row.fallback)
            for row in self.fields
            if row.fallback and blank(fields.get(row.remote)) and row.fallback in fields
        }
        return {**fields, **taken} if taken else fields

    def skips_failed_field(self, row: FieldMap) -> bool:
        """Does a value of ``row`` that cannot be synced leave just that field out?

        Not under ``on_field_error: fail_record``, and never for a match field: a record
        without the value it is matched by could be matched by nothing, and found twice.
        """
        if self.on_field_error == "fail_record":
            return False
        return all(row is not match for _, match in self.match_fields())

    def match_fields(self) -> list[tuple[str, FieldMap]]:
        """(hub field, row) per identity.match field; the row names the remote field to use."""
        out: list[tuple[str, FieldMap]] = []
        for hub_field in self.identity.match:
            row = next((r for r in self.fields if r.hub == hub_field and r.expr is None), None)
            if row is not None:
                out.append((hub_field, row))
        return out
