"""RecordStore: an org's rows by object and id, the indexes over live rows, savepoint journals."""

from __future__ import annotations

from typing import Any

from sandboxes.salesforce.config import DuplicateRule
from sandboxes.salesforce.schema import ObjectMeta, Schema
from sandboxes.salesforce.validation import FieldTypeError, coerce


class RecordStore:
    """Rows as dicts of API JSON values; a write replaces a row's dict, never mutates it."""

    def __init__(self, schema: Schema, duplicate_rules: list[DuplicateRule]) -> None:
        self.schema = schema
        self.tables: dict[str, dict[str, dict]] = {name: {} for name in schema.objects}
        # Indexes over live rows only (deleted rows keep their values for queryAll):
        # external-id value -> ids (O(1) upsert), duplicate-rule key -> ids,
        # parent id -> (child object, child id) for cascading fields, (campaign, person) -> member.
        self.external: dict[tuple[str, str], dict[Any, set[str]]] = {}
        self.duplicates: dict[tuple[str, str], dict[tuple, set[str]]] = {}
        self.children: dict[str, set[tuple[str, str]]] = {}
        self.members: dict[tuple[str, str], str] = {}
        # One journal per open savepoint: (object, id) -> the row before the savepoint.
        self.journals: list[dict[tuple[str, str], dict | None]] = []
        self.duplicate_rules = {
            name: [rule for rule in duplicate_rules if rule.object == name]
            for name in schema.objects
        }
        self.cascading = {
            name: [field.name for field in meta.fields.values() if field.cascade_delete]
            for name, meta in schema.objects.items()
        }

    def begin(self) -> None:
        """Open a savepoint."""
        self.journals.append({})

    def commit(self) -> None:
        """Close the innermost savepoint, keeping its changes (the outer one can still undo)."""
        journal = self.journals.pop()
        if self.journals:
            outer = self.journals[-1]
            for key, original in journal.items():
                outer.setdefault(key, original)

    def abort(self) -> None:
        """Close the innermost savepoint, undoing its changes."""
        self.rollback(self.journals.pop())

    def write(self, sobject: str, record_id: str, row: dict | None) -> None:
        """Store a new version of a row (never mutating the old dict), journaling the old one."""
        table = self.tables[sobject]
        old = table.get(record_id)
        if self.journals:
            self.journals[-1].setdefault((sobject, record_id), old)
        if old is not None and not old["IsDeleted"]:
            self._unindex(sobject, old)
        if row is None:
            table.pop(record_id, None)
            return
        table[record_id] = row
        if not row["IsDeleted"]:
            self._index(sobject, row)

    def rollback(self, journal: dict[tuple[str, str], dict | None]) -> None:
        """Put back the rows a journal recorded (and their index entries)."""
        for (sobject, record_id), original in journal.items():
            current = self.tables[sobject].get(record_id)
            if current is not None and not current["IsDeleted"]:
                self._unindex(sobject, current)
            if original is None:
                self.tables[sobject].pop(record_id, None)
            else:
                self.tables[sobject][record_id] = original
                if not original["IsDeleted"]:
                    self._index(sobject, original)
        # An outer savepoint must still see these rows as touched (their originals).
        if self.journals:
            for key, original in journal.items():
                self.journals[-1].setdefault(key, original)

    def _index(self, sobject: str, row: dict) -> None:
        self._each_index_entry(sobject, row, add=True)

    def _unindex(self, sobject: str, row: dict) -> None:
        self._each_index_entry(sobject, row, add=False)

    def _each_index_entry(self, sobject: str, row: dict, *, add: bool) -> None:
        meta = self.schema.objects[sobject]
        record_id = row["Id"]
        entries: list[tuple[dict, Any]] = []
        for name in meta.external_id_fields:
            if row[name] is not None:
                index = self.external.setdefault((sobject, name), {})
                entries.append((index, self.ext_key(meta.fields[name], row[name])))
        for rule in self.duplicate_rules[sobject]:
            key = self.duplicate_key(meta, rule, row)
            if key is not None:
                entries.append((self.duplicates.setdefault((sobject, rule.name), {}), key))
        for name in self.cascading[sobject]:
            if row[name] is not None:
                entries.append((self.children, row[name]))
        for index, key in entries:
            value = (sobject, record_id) if index is self.children else record_id
            if add:
                index.setdefault(key, set()).add(value)
            else:
                bucket = index.get(key)
                if bucket is not None:
                    bucket.discard(value)
                    if not bucket:
                        del index[key]
        if sobject == "CampaignMember":
            for person in {row["LeadId"], row["ContactId"]} - {None}:
                if add:
                    self.members[(row["CampaignId"], person)] = record_id
                elif self.members.get((row["CampaignId"], person)) == record_id:
                    del self.members[(row["CampaignId"], person)]

    @staticmethod
    def ext_key(field_meta: Any, value: Any) -> Any:
        """The index key of an external-id value (text ids are case-insensitive by default)."""
        try:
            value = coerce(field_meta, value)
        except FieldTypeError:
            return ("unmatchable", str(value))
        if isinstance(value, str) and not field_meta.case_sensitive:
            return value.lower()
        return value

    @staticmethod
    def duplicate_key(meta: ObjectMeta, rule: Any, row: dict) -> tuple | None:
        values = [row.get(meta.field(name).name) for name in rule.fields]
        if all(value is None or value == "" for value in values):
            return None  # blank fields never match anything
        return tuple(value.strip().lower() if isinstance(value, str) else value for value in values)
