"""Resolving field paths (`Email`, `Owner.Email`) against describe metadata into row getters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import methodcaller
from typing import Any, Protocol

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.soql.query import FieldRef, Query

_NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_NO_SUCH_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_UNSUPPORTED_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be "
    "sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
    "call for the appropriate names."
)


class QuerySource(Protocol):
    """Where queries read from: describe metadata, stored rows, and lookups by id."""

    def describe(self, sobject: str) -> dict:
        """Describe JSON of `sobject`; SalesforceError NOT_FOUND when it doesn't exist."""
        ...

    def rows(self, sobject: str, include_deleted: bool) -> Iterable[dict]:
        """The stored rows (API JSON values) of `sobject`, deleted ones only when asked."""
        ...

    def by_id(self, record_id: str) -> tuple[str, dict] | None:
        """(object name, row) for an id, deleted records included; None when unknown."""
        ...


@dataclass(frozen=True)
class Hop:
    """One relationship step: follow `reference_field` (OwnerId), output under `name` (Owner)."""

    name: str
    reference_field: str
    target: str  # the object the describe points to (first of referenceTo)


@dataclass(frozen=True)
class ResolvedField:
    """A field path checked against describe, with canonical names and a fast row getter."""

    hops: tuple[Hop, ...]
    name: str
    field_type: str
    get: Callable[[dict], Any]

    @property
    def output_path(self) -> tuple[str, ...]:
        return (*(hop.name for hop in self.hops), self.name)


class Schema:
    """Describe lookups for one query execution, cached; turns FieldRefs into ResolvedFields."""

    def __init__(self, source: QuerySource, query: Query) -> None:
        self._source = source
        self._query = query
        self._describes: dict[str, dict] = {}
        self._fields: dict[str, dict[str, dict]] = {}
        self._relationships: dict[str, dict[str, dict]] = {}
        # One by_id per referenced record per query: many leads share one owner.
        self._records: dict[str, tuple[str, dict] | None] = {}
        self.root = self._describe_root()

    def _describe_root(self) -> dict:
        try:
            return self.describe(self._query.sobject)
        except SalesforceError as error:
            if error.code != "NOT_FOUND":
                raise
            raise self._query.error_at(
                "INVALID_TYPE",
                self._query.sobject_position,
                _UNSUPPORTED_TYPE.format(name=self._query.sobject),
            ) from None

    def describe(self, sobject: str) -> dict:
        key = sobject.lower()
        if key not in self._describes:
            describe = self._source.describe(sobject)
            self._describes[key] = describe
            self._fields[key] = {field["name"].lower(): field for field in describe["fields"]}
            self._relationships[key] = {
                field["relationshipName"].lower(): field
                for field in describe["fields"]
                if field.get("relationshipName") and field.get("referenceTo")
            }
        return self._describes[key]

    def lookup(self, record_id: str) -> tuple[str, dict] | None:
        if record_id not in self._records:
            self._records[record_id] = self._source.by_id(record_id)
        return self._records[record_id]

    def resolve(self, ref: FieldRef) -> ResolvedField:
        """Check `ref` against describe; INVALID_FIELD (caret at the field) when it is unknown."""
        path = list(ref.path)
        root_name = self.root["name"]
        # `SELECT Lead.Email FROM Lead` is legal: the object name may prefix a path.
        if (
            len(path) > 1
            and path[0].lower() == root_name.lower()
            and path[0].lower() not in self._relationships[root_name.lower()]
        ):
            path = path[1:]
        current = root_name
        hops: list[Hop] = []
        for segment in path[:-1]:
            reference = self._relationships[current.lower()].get(segment.lower())
            if reference is None:
                raise self._query.error_at(
                    "INVALID_FIELD", ref.position, _NO_SUCH_RELATIONSHIP.format(name=segment)
                )
            target = reference["referenceTo"][0]
            try:
                target = self.describe(target)["name"]
            except SalesforceError:
                raise self._query.error_at(
                    "INVALID_FIELD", ref.position, _NO_SUCH_RELATIONSHIP.format(name=segment)
                ) from None
            hops.append(Hop(reference["relationshipName"], reference["name"], target))
            current = target
        field = self._fields[current.lower()].get(path[-1].lower())
        if field is None:
            raise self._query.error_at(
                "INVALID_FIELD",
                ref.position,
                _NO_SUCH_COLUMN.format(field=path[-1], entity=current),
            )
        name = field["name"]
        return ResolvedField(tuple(hops), name, field["type"], self._getter(tuple(hops), name))

    def _getter(self, hops: tuple[Hop, ...], name: str) -> Callable[[dict], Any]:
        if not hops:
            # The hot path over 100k rows: methodcaller runs `row.get(name)` without a Python
            # frame.
            return methodcaller("get", name)
        reference_fields = [hop.reference_field for hop in hops]
        lookup = self.lookup

        def follow(row: dict) -> Any:
            current = row
            for reference_field in reference_fields:
                record_id = current.get(reference_field)
                if not record_id:
                    return None
                found = lookup(record_id)
                if found is None:
                    return None
                current = found[1]
            return current.get(name)

        return follow
