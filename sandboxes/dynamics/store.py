"""Environment: the emulated Dataverse rows, versions, keys, change log and savepoints."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sandboxes.dynamics import connections, qualification
from sandboxes.dynamics.errors import (
    CONCURRENCY_VERSION_MISMATCH,
    DUPLICATE_DETECTED,
    DUPLICATE_RECORD,
    INVALID_ARGUMENT,
    REQUIRED_ATTRIBUTE_MISSING,
    DataverseError,
    expired_version_stamp,
    not_found,
)
from sandboxes.dynamics.indexes import RowIndexes
from sandboxes.dynamics.metadata import EntityMeta, Metadata
from sandboxes.dynamics.sales_entities import all_entities
from sandboxes.dynamics.validation import (
    LOOKUP_NAME,
    coerce_value,
    compute_columns,
    format_datetime,
    invalid_property,
    missing_required,
    normalize,
    parse_guid,
    settle_status,
)

#: The application user every row is owned by unless told otherwise.
DEFAULT_USER_ID = "8a4f2c1e-0b3d-4e5f-9a6b-7c8d9e0f1a2b"
_SYSTEM_REQUIRED = frozenset({"SystemRequired"})
_ALL_REQUIRED = frozenset({"SystemRequired", "ApplicationRequired"})
# Relationships whose child rows go when the parent is deleted (Parental / Cascade All);
# every other lookup to a deleted row is cleared (RemoveLink), as in Dataverse.
_CASCADE_DELETE = frozenset({
    ("contact", "parentcustomerid"), ("listmember", "listid"), ("listmember", "entityid"),
    ("campaignresponse", "regardingobjectid"),
    ("connection", "record1id"), ("connection", "record2id"),
})  # fmt: skip


class Environment:
    """One Dataverse environment's data; every public method is atomic and thread-safe."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        metadata: Metadata | None = None,
        *,
        enforce_application_required: bool = False,
    ) -> None:
        self.metadata = metadata if metadata is not None else Metadata(all_entities())
        self._clock = clock or (lambda: datetime.now(UTC))
        # Re-entrant: savepoints, qualification and cascades call public methods again.
        self.lock = threading.RLock()
        self.default_user_id = DEFAULT_USER_ID
        #: Dataverse enforces only SystemRequired; forms enforce ApplicationRequired.
        self.enforce_application_required = enforce_application_required
        self._tables: dict[str, dict[str, dict]] = {name: {} for name in self.metadata.entities}
        # entity → guid → versionnumber of its deletion (the change log's tombstones).
        self._deleted: dict[str, dict[str, int]] = {name: {} for name in self.metadata.entities}
        self._version = 0
        #: Delta tokens below this version fail (set by `reset()`).
        self.tracking_floor = 0
        self._indexes = RowIndexes()
        # One journal per open savepoint: (entity, guid) → (row, tombstone) before it.
        self._journals: list[dict[tuple[str, str], tuple[dict | None, int | None]]] = []

    # ------------------------------------------------------------------ reads

    @property
    def version(self) -> int:
        """The current value of the environment-wide row version counter."""
        return self._version

    def get(self, entity: str, guid: str) -> dict:
        """A copy of one live row (every attribute, null when unset); missing → 404."""
        meta = self.metadata.entity(entity)
        with self.lock:
            row = self._row(meta, guid)
            return self._full(meta, row)

    def find(self, entity: str, guid: str) -> dict | None:
        """A copy of one live row, None when there is none (no error)."""
        meta = self.metadata.entity(entity)
        canonical = parse_guid(guid)
        with self.lock:
            row = self._tables[meta.logical_name].get(canonical) if canonical else None
            return self._full(meta, row) if row is not None else None

    def rows(self, entity: str, where: Callable[[dict], bool] | None = None) -> list[dict]:
        """Copies of the live rows of `entity` (those `where` accepts), in creation order."""
        meta = self.metadata.entity(entity)
        with self.lock:
            stored = list(self._tables[meta.logical_name].values())
        if where is not None:
            # Test the stored rows (an unset column reads as None there too) and copy only
            # the matches: a lookup over 100,000 rows must not copy all of them.
            stored = [row for row in stored if where(row)]
        return [self._full(meta, row) for row in stored]

    def count(self, entity: str) -> int:
        """How many live rows `entity` has."""
        meta = self.metadata.entity(entity)
        return len(self._tables[meta.logical_name])

    def lookup_key(self, entity: str, key: Mapping[str, Any]) -> str | None:
        """The guid of the row matching `key` (primary id or an alternate key), else None."""
        meta = self.metadata.entity(entity)
        with self.lock:
            return self._match_key(meta, key)

    def changes_since(self, entity: str, version: int) -> tuple[list[dict], list[str], int]:
        """(rows changed after `version` oldest first, ids deleted after it, current version).

        A row created and deleted in between is reported as deleted, as Dataverse does.
        """
        meta = self.metadata.entity(entity)
        with self.lock:
            if version < self.tracking_floor:
                raise expired_version_stamp()
            changed = [
                row for row in self._tables[meta.logical_name].values()
                if row["versionnumber"] > version
            ]  # fmt: skip
            changed.sort(key=lambda row: row["versionnumber"])
            deleted = sorted(
                (
                    (stamp, guid)
                    for guid, stamp in self._deleted[meta.logical_name].items()
                    if stamp > version
                ),
            )
            return (
                [self._full(meta, row) for row in changed],
                [guid for _, guid in deleted],
                self._version,
            )

    # ------------------------------------------------------------------ writes

    def create(
        self, entity: str, values: Mapping[str, Any], *, detect_duplicates: bool = False
    ) -> str:
        """Create a row and return its GUID (the payload may carry the primary id)."""
        meta = self.metadata.entity(entity)
        with self.lock:
            changes = normalize(meta, values, creating=True, resolve_bind=self._resolve_bind)
            guid = changes.pop(meta.primary_id, None) or str(uuid.uuid4())
            if guid in self._tables[meta.logical_name]:
                raise DataverseError(
                    DUPLICATE_RECORD, "A record with matching key values already exists.", 412
                )
            if meta.logical_name != connections.ENTITY:
                return self._insert(meta, guid, changes, detect_duplicates)
            with self.savepoint():  # a connection and its reciprocal are made together
                guid = self._insert(meta, guid, changes, detect_duplicates)
                connections.after_create(self, guid)
            return guid

    def update(
        self,
        entity: str,
        guid: str,
        values: Mapping[str, Any],
        *,
        if_match: str | None = None,
        detect_duplicates: bool = False,
    ) -> None:
        """Update a live row; missing → 404, `If-Match` version differs → 412."""
        meta = self.metadata.entity(entity)
        with self.lock:
            row = self._row(meta, guid)
            self._check_if_match(row, if_match)
            changes = normalize(meta, values, creating=False, resolve_bind=self._resolve_bind)
            self._check_primary_id(meta, row, changes)
            if meta.logical_name != connections.ENTITY:
                self._apply(meta, row, changes, detect_duplicates)
                return
            with self.savepoint():
                self._apply(meta, row, changes, detect_duplicates)
                connections.after_update(self, row["_guid"])

    def upsert(
        self,
        entity: str,
        key: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        detect_duplicates: bool = False,
    ) -> tuple[str, bool]:
        """Update the row `key` names or create it; returns (guid, created).

        `key` is `{primary id: guid}` or the columns of an alternate key. `if_none_match`
        (`If-None-Match: *`) makes it create-only: an existing row → 412.
        """
        meta = self.metadata.entity(entity)
        with self.lock:
            key = self._normalize_key(meta, key)
            for column in key:
                if column in values and column != meta.primary_id:
                    raise DataverseError(
                        INVALID_ARGUMENT,
                        f"The key attribute '{column}' is specified in the URL and must not "
                        "be repeated in the request body.",
                    )
            existing = self._match_key(meta, key)
            if existing is not None:
                if if_none_match:
                    raise DataverseError(
                        DUPLICATE_RECORD, "A record with matching key values already exists.", 412
                    )
                self.update(
                    entity, existing, values, if_match=if_match,
                    detect_duplicates=detect_duplicates,
                )  # fmt: skip
                return existing, False
            if if_match is not None:
                # If-Match on a missing row: Dataverse answers 404 rather than creating.
                raise not_found(meta.logical_name, str(next(iter(key.values()))))
            payload = dict(values)
            if meta.primary_id in key:
                payload[meta.primary_id] = key[meta.primary_id]
            else:
                payload.update(key)
            return self.create(entity, payload, detect_duplicates=detect_duplicates), True

    def delete(self, entity: str, guid: str, *, if_match: str | None = None) -> None:
        """Delete a live row (recorded for change tracking); cascades and clears lookups."""
        meta = self.metadata.entity(entity)
        with self.lock:
            row = self._row(meta, guid)
            self._check_if_match(row, if_match)
            related = None
            if meta.logical_name == connections.ENTITY:
                related = connections.before_delete(self, row["_guid"])
            self._delete(meta, row["_guid"])
            if related is not None:
                self._delete(meta, related)

    def reset(self) -> None:
        """Remove every row; delta tokens issued before now stop working."""
        with self.lock:
            for table in self._tables.values():
                table.clear()
            for tombstones in self._deleted.values():
                tombstones.clear()
            self._indexes.clear()
            self._journals.clear()
            self._version += 1
            self.tracking_floor = self._version

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """All-or-nothing block: an exception undoes every write made inside it (nestable)."""
        with self.lock:
            self._journals.append({})
            try:
                yield
            except BaseException:
                self._rollback(self._journals.pop())
                raise
            journal = self._journals.pop()
            if self._journals:
                outer = self._journals[-1]
                for entry, original in journal.items():
                    outer.setdefault(entry, original)

    # ------------------------------------------------------------------ business messages

    def qualify_lead(
        self,
        guid: str,
        *,
        create_account: bool = True,
        create_contact: bool = True,
        create_opportunity: bool = True,
    ) -> dict:
        """QualifyLead: {"accountid", "contactid", "opportunityid"} (None when not created)."""
        with self.lock, self.savepoint():
            return qualification.qualify_lead(
                self, guid, create_account=create_account, create_contact=create_contact,
                create_opportunity=create_opportunity,
            )  # fmt: skip

    def add_list_member(self, list_id: str, entity_guid: str) -> str:
        """AddMemberList: the listmember id (the existing one when already a member)."""
        with self.lock, self.savepoint():
            return qualification.add_list_member(self, list_id, entity_guid)

    def remove_list_member(self, list_id: str, entity_guid: str) -> None:
        """RemoveMemberList: delete the membership (404 when there is none)."""
        with self.lock, self.savepoint():
            qualification.remove_list_member(self, list_id, entity_guid)

    def membership(self, list_id: str, entity_guid: str) -> str | None:
        """The listmember id for (list, member), None when not a member."""
        key = (parse_guid(list_id) or "", parse_guid(entity_guid) or "")
        return self._indexes.memberships.get(key)

    def create_system(self, entity: str, stored: Mapping[str, Any]) -> str:
        """Create a row from stored values, bypassing payload rules (platform messages)."""
        meta = self.metadata.entity(entity)
        with self.lock:
            return self._insert(meta, str(uuid.uuid4()), dict(stored), detect_duplicates=False)

    def member_count(self, list_id: str) -> int:
        """How many members a marketing list has."""
        return self._indexes.list_sizes.get(parse_guid(list_id) or "", 0)

    def set_system_values(self, entity: str, guid: str, values: Mapping[str, Any]) -> None:
        """Write stored values directly (state changes by platform messages, lookups)."""
        meta = self.metadata.entity(entity)
        with self.lock:
            row = self._row(meta, guid)
            self._apply(meta, row, dict(values), detect_duplicates=False, check=False)

    # ------------------------------------------------------------------ internals

    def _row(self, meta: EntityMeta, guid: str) -> dict:
        canonical = parse_guid(guid)
        row = self._tables[meta.logical_name].get(canonical) if canonical else None
        if row is None:
            raise not_found(meta.logical_name, guid)
        return row

    def _full(self, meta: EntityMeta, row: dict) -> dict:
        full = {attribute.value_name: None for attribute in meta.attributes.values()}
        full.update(row)
        full.pop("_guid", None)
        return full

    def _resolve_bind(self, set_name: str, guid: str, targets: tuple[str, ...]) -> str:
        target = self.metadata.entity(set_name)
        if target.logical_name not in targets and set_name not in targets:
            raise DataverseError(
                INVALID_ARGUMENT,
                f"The entity set '{set_name}' does not match the type of the navigation "
                f"property (expected {', '.join(targets)}).",
            )
        if guid not in self._tables[target.logical_name]:
            raise not_found(target.logical_name, guid)
        return target.logical_name

    def _normalize_key(self, meta: EntityMeta, key: Mapping[str, Any]) -> dict[str, Any]:
        if set(key) == {meta.primary_id}:
            guid = parse_guid(key[meta.primary_id])
            if guid is None:
                raise DataverseError(
                    INVALID_ARGUMENT, f"'{key[meta.primary_id]}' is not a valid GUID."
                )
            return {meta.primary_id: guid}
        for columns in meta.alternate_keys.values():
            if set(columns) == set(key):
                return {
                    column: coerce_value(meta, meta.attributes[column], key[column])
                    for column in columns
                }
        for column in key:
            if column not in meta.attributes:
                raise invalid_property(meta, column)
        raise DataverseError(
            INVALID_ARGUMENT,
            f"The specified key attributes are not a defined key for the "
            f"{meta.logical_name} entity",
        )

    def _match_key(self, meta: EntityMeta, key: Mapping[str, Any]) -> str | None:
        if set(key) == {meta.primary_id}:
            guid = parse_guid(key[meta.primary_id])
            return guid if guid in self._tables[meta.logical_name] else None
        for name, columns in meta.alternate_keys.items():
            if set(columns) == set(key):
                values = tuple(key[column] for column in columns)
                return self._indexes.key_holder(meta, name, values)
        return None

    @staticmethod
    def _check_if_match(row: dict, if_match: str | None) -> None:
        if if_match is None or if_match.strip() == "*":
            return
        expected = if_match.strip().removeprefix("W/").strip('"')
        if expected != str(row["versionnumber"]):
            raise DataverseError(
                CONCURRENCY_VERSION_MISMATCH,
                "The version of the existing record doesn't match the RowVersion property "
                "provided.",
                412,
            )

    @staticmethod
    def _check_primary_id(meta: EntityMeta, row: dict, changes: dict) -> None:
        supplied = changes.pop(meta.primary_id, None)
        if supplied is not None and supplied != row["_guid"]:
            raise DataverseError(
                INVALID_ARGUMENT,
                f"The value of '{meta.primary_id}' in the body does not match the key in the URL.",
            )

    def _stamp(self) -> tuple[int, str]:
        self._version += 1
        return self._version, format_datetime(self._clock())

    def _insert(
        self, meta: EntityMeta, guid: str, changes: dict[str, Any], detect_duplicates: bool
    ) -> str:
        version, now = self._stamp()
        row: dict[str, Any] = {"_guid": guid, meta.primary_id: guid}
        row["_ownerid_value"] = self.default_user_id
        row["_ownerid_value" + LOOKUP_NAME] = "systemuser"
        state = meta.state_attribute
        if state is not None:
            row["statecode"] = 0
            row["statuscode"] = meta.default_status(0)
        row.update(changes)
        if state is not None:
            settle_status(meta, row, changes)
        # overriddencreatedon is how migrations keep a row's original creation date: it becomes
        # createdon, and overriddencreatedon then tells when the row was migrated (now).
        if row.get("overriddencreatedon"):
            row["createdon"], row["overriddencreatedon"] = row["overriddencreatedon"], now
        else:
            row["createdon"] = now
        row["modifiedon"] = now
        row["versionnumber"] = version
        compute_columns(meta, row)
        levels = _ALL_REQUIRED if self.enforce_application_required else _SYSTEM_REQUIRED
        missing_required(meta, row, levels)
        self._check_unique(meta, row, detect_duplicates)
        self._put(meta.logical_name, guid, row)
        return guid

    def _apply(
        self,
        meta: EntityMeta,
        old: dict,
        changes: dict[str, Any],
        detect_duplicates: bool,
        *,
        check: bool = True,
    ) -> None:
        row = dict(old)
        row.update(changes)
        if meta.state_attribute is not None and check:
            settle_status(meta, row, changes)
        if check:
            for attribute in meta.attributes.values():
                name = attribute.value_name
                # A SystemRequired column may be left alone, never cleared.
                if attribute.required_level == "SystemRequired" and changes.get(name, 0) is None:
                    raise DataverseError(
                        REQUIRED_ATTRIBUTE_MISSING,
                        f"A validation error occurred. The required attribute "
                        f"'{attribute.logical_name}' of the '{meta.logical_name}' entity "
                        "cannot be set to null.",
                    )
        compute_columns(meta, row)
        self._check_unique(meta, row, detect_duplicates)
        version, now = self._stamp()
        row["versionnumber"] = version
        row["modifiedon"] = now
        self._put(meta.logical_name, row["_guid"], row)

    def _delete(self, meta: EntityMeta, guid: str) -> None:
        for child_entity, child_guid, attribute in sorted(self._indexes.referrers.get(guid, ())):
            child_meta = self.metadata.entity(child_entity)
            child = self._tables[child_entity].get(child_guid)
            if child is None:
                continue
            if (child_entity, attribute) in _CASCADE_DELETE:
                self._delete(child_meta, child_guid)
            else:
                value_name = f"_{attribute}_value"
                self._apply(
                    child_meta, child, {value_name: None, value_name + LOOKUP_NAME: None},
                    detect_duplicates=False, check=False,
                )  # fmt: skip
        row = self._tables[meta.logical_name].get(guid)
        if row is None:
            return  # already removed by an earlier cascade in this delete
        version, _ = self._stamp()
        self._put(meta.logical_name, guid, None, tombstone=version)
        if meta.logical_name == "listmember" and row.get("_listid_value") is not None:
            qualification.recount_list(self, row["_listid_value"])

    def _check_unique(self, meta: EntityMeta, row: dict, detect_duplicates: bool) -> None:
        guid = row["_guid"]
        for name, columns in meta.alternate_keys.items():
            holder = self._indexes.key_holder(meta, name, tuple(row.get(c) for c in columns))
            if holder is not None and holder != guid:
                shown = ", ".join(str(row.get(column)) for column in columns)
                raise DataverseError(
                    DUPLICATE_RECORD,
                    f"A record that has the attribute values {shown} already exists. The "
                    f"entity key {name} requires that this set of attributes contains unique "
                    "values. Select unique values and try again.",
                    412,
                )
        if detect_duplicates and self._indexes.duplicates_of(meta, row) - {guid}:
            # Documented: the Web API answers 500 with this code for a duplicate.
            raise DataverseError(
                DUPLICATE_DETECTED,
                "A record was not created or updated because a duplicate of the current "
                "record already exists.",
                500,
            )

    def _put(
        self, entity: str, guid: str, row: dict | None, *, tombstone: int | None = None
    ) -> None:
        """Store a row version (or delete with a tombstone), journaling and re-indexing."""
        table = self._tables[entity]
        old = table.get(guid)
        if self._journals:
            self._journals[-1].setdefault((entity, guid), (old, self._deleted[entity].get(guid)))
        if old is not None:
            self._indexes.update(self.metadata.entities[entity], old, add=False)
        if row is None:
            table.pop(guid, None)
            if tombstone is not None:
                self._deleted[entity][guid] = tombstone
            return
        self._deleted[entity].pop(guid, None)
        table[guid] = row
        self._indexes.update(self.metadata.entities[entity], row, add=True)

    def _rollback(self, journal: dict[tuple[str, str], tuple[dict | None, int | None]]) -> None:
        for (entity, guid), (original, tombstone) in journal.items():
            current = self._tables[entity].get(guid)
            if current is not None:
                self._indexes.update(self.metadata.entities[entity], current, add=False)
            if original is None:
                self._tables[entity].pop(guid, None)
            else:
                self._tables[entity][guid] = original
                self._indexes.update(self.metadata.entities[entity], original, add=True)
            if tombstone is None:
                self._deleted[entity].pop(guid, None)
            else:
                self._deleted[entity][guid] = tombstone
        if self._journals:
            outer = self._journals[-1]
            for entry, original_state in journal.items():
                outer.setdefault(entry, original_state)
