"""The in-memory reference connector: a CRM-like remote for the demo, the engine and the suite."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from connectors.base import (
    Capabilities,
    Change,
    Connector,
    Cursor,
    HardDeletes,
    ObjectInfo,
    Op,
    OutboundRecord,
    Page,
    WriteResult,
    WriteStatus,
)
from connectors.concurrency import overwritten_field
from connectors.errors import ConnectorError, ErrorKind
from connectors.filters import Filter, filter_fields, filter_text, matches
from connectors.memory.schema import CURSOR_FIELD, KEY_FIELD, ObjectSchema, unknown_field
from connectors.memory.settings import FaultSettings, MemoryConnection
from connectors.memory.store import MemoryStore, Record, SimulatedCrash
from connectors.retry import call_with_retry
from connectors.settings import parse_settings
from core import shutdown

T = TypeVar("T")

@dataclass(slots=True)
class Faults:
    """Random failures and latency before each call, reproducible through ``seed``."""

    transient_rate: float = 0.0
    rate_limited_rate: float = 0.0
    retry_after: float = 1.0
    latency_ms: float = 0.0
    latency_per_record_ms: float = 0.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def from_settings(cls, settings: FaultSettings) -> Faults:
        """Build from a connection's checked ``faults:`` block."""
        return cls(**settings.model_dump())

    def delay(self, records: int) -> float:
        """Seconds one call takes: fixed latency plus a per-record share."""
        return (self.latency_ms + self.latency_per_record_ms * records) / 1000

    def draw(self) -> ConnectorError | None:
        """Maybe fail this call: a 503 or a 429, as often as the rates say."""
        if not (self.transient_rate or self.rate_limited_rate):
            return None
        roll = self._rng.random()
        if roll < self.transient_rate:
            return ConnectorError(ErrorKind.TRANSIENT, "503 Service Unavailable",
                                  code="SERVER_UNAVAILABLE", status=503)
        if roll < self.transient_rate + self.rate_limited_rate:
            return ConnectorError(ErrorKind.RATE_LIMITED, "429 Too Many Requests",
                                  code="REQUEST_LIMIT_EXCEEDED", status=429,
                                  retry_after=self.retry_after)
        return None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class MemoryConnector(Connector):
    """A CRM in memory (or in a shared JSON file) behind the connector interface.

    API: direct calls on a :class:`MemoryStore`; each check, describe, page, lookup chunk and
    write chunk counts as one call and may meet injected faults and latency. Auth: optional
    ``api_key`` compared with the store's. Cursor: the store's global change sequence as a
    string, inclusive. Deletes: tombstones arrive as ``Op.DELETE``; purged ones (the store's
    recycle bin emptied, a hard delete) only through ``read_hard_deletes``. Batches:
    ``max_batch_size`` records per write call (200), ``lookup_batch_size`` values per lookup
    call (200). Versions: see :data:`connectors.memory.settings.Versions` (``if_match`` and
    ``expected`` are checked accordingly).
    """

    type_name = "memory"
    capabilities = Capabilities(row_versions=True, hard_deletes=True)
    secret_keys = frozenset({"api_key"})
    settings_model = MemoryConnection

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        super().__init__(name, config)
        # Built directly (tests, benchmarks) the class already says which type it is.
        typed = {"type": self.type_name, **config}
        settings = parse_settings(MemoryConnection, typed, at=(name,))
        self.store = settings.store or (
            MemoryStore.at(settings.path) if settings.path else MemoryStore.named(self.name)
        )
        self.store.extend_schema(settings.schema_)
        self.page_size = settings.page_size
        self.max_batch_size = settings.max_batch_size
        self.lookup_batch_size = settings.lookup_batch_size
        # Per instance: the batch sizes and versions are settings here, not facts of an API.
        self.capabilities = replace(  # type: ignore[misc]
            type(self).capabilities,
            max_batch_size=self.max_batch_size,
            lookup_batch_size=self.lookup_batch_size,
            row_versions=settings.versions == "sequence",
        )
        self.retry = settings.retry.policy()
        self.faults = Faults.from_settings(settings.faults)
        #: Test hook, like ``MemoryStore.crash_after_write`` but for this connection only.
        self.crash_after_write: int | None = settings.crash_after_write
        self._api_key = settings.api_key

    def _call(self, fn: Callable[[], T], *, records: int = 0) -> T:
        """One remote call: counted, faulted, authenticated, retried, one session refresh."""
        refreshed = False

        def attempt() -> T:
            nonlocal refreshed
            try:
                return self._attempt(fn, records)
            except ConnectorError as exc:
                if exc.code != "INVALID_SESSION_ID" or refreshed:
                    raise
            refreshed = True
            self._login()
            return self._attempt(fn, records)

        return call_with_retry(attempt, self.retry)

    def _attempt(self, fn: Callable[[], T], records: int) -> T:
        shutdown.checkpoint()
        self.api_calls += 1
        delay = self.faults.delay(records)
        if delay:
            shutdown.sleep(delay)
        fault = self.store.next_fault()
        if fault is None:
            self._authenticate()
            fault = self.faults.draw()
        if fault is not None:
            raise fault
        return fn()

    def _login(self) -> None:
        # A fresh "session": one more call, and the key is checked again.
        self.api_calls += 1
        self._authenticate()

    def _authenticate(self) -> None:
        expected = self.store.api_key
        if expected is not None and self._api_key != expected:
            raise ConnectorError(
                ErrorKind.AUTH,
                "Invalid API key",
                code="INVALID_API_KEY",
                status=401,
                hint=f"set api_key of connection '{self.name}' to the key the CRM expects",
            )

    # -- the interface ----------------------------------------------------------------------

    def check(self) -> None:
        """One call that succeeds when the store accepts our key."""
        self._call(lambda: None)

    def describe(self, objects: Sequence[str] | None = None) -> dict[str, ObjectInfo]:
        """Objects from the store's schema (all when None); unknown object → CONFIG."""
        names = list(objects) if objects is not None else list(self.store.schema)
        return self._call(lambda: {n: self.store.object_schema(n).info() for n in names})

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        """Pages of records and tombstones with sequence >= ``since``, ``page_size`` each.

        ``where`` is applied by the store, as a remote's query would: records failing it are
        never returned, tombstones always are.
        """
        obj = self.store.object_schema(object_name)
        selected = self._selected(obj, fields)
        if where is not None:
            self.where_text(object_name, where)  # an unknown field fails as a query would
        return self._pages(obj, _sequence(since), selected, where)

    def where_text(self, object_name: str, where: Filter) -> str:
        """The filter as the store applies it (field names checked against the schema)."""
        obj = self.store.object_schema(object_name)
        unknown = sorted(filter_fields(where) - set(obj.fields))
        if unknown:
            raise unknown_field(obj, unknown[0])
        return filter_text(where)

    def _pages(
        self, obj: ObjectSchema, start: int, selected: list[str], where: Filter | None = None
    ) -> Iterator[Page]:
        keep = None if where is None else partial(_kept, where)
        while True:
            # One more than a page tells whether another call is needed, like nextRecordsUrl.
            fetch = partial(self.store.changes, obj.name, start, self.page_size + 1, keep)
            batch = self._call(fetch)
            page = batch[: self.page_size]
            if not page:
                return
            yield Page([self._change(r, selected) for r in page], str(page[-1]["_seq"]))
            if len(batch) <= self.page_size:
                return
            start = page[-1]["_seq"] + 1

    def read_hard_deletes(
        self, object_name: str, since: Cursor | None, *, now: datetime | None = None
    ) -> HardDeletes:
        """Keys the store purged (``MemoryStore.purge``) since the cursor; one call.

        The store keeps them all, so there is never a gap; ``now`` does not matter here.
        """
        obj = self.store.object_schema(object_name)
        keys, last = self._call(partial(self.store.purged, obj.name, _sequence(since)))
        return HardDeletes(keys, str(last + 1))  # every purge up to ``last`` is listed now

    def lookup_deleted(self, object_name: str, keys: Sequence[str]) -> list[Change]:
        """Tombstones and live records the store still has of these keys; one call."""
        obj = self.store.object_schema(object_name)
        entries = self._call(partial(self._entries, obj.name, keys))
        return [self._change(entry, [KEY_FIELD]) for entry in entries]

    def _entries(self, object_name: str, keys: Sequence[str]) -> list[Record]:
        with self.store.transaction():
            entries = [self.store.entry(object_name, key) for key in dict.fromkeys(keys)]
            return [entry for entry in entries if entry is not None]

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Live records whose field equals a value (text case-insensitive), one call per chunk."""
        obj = self.store.object_schema(object_name)
        if field_name not in obj.fields:
            raise unknown_field(obj, field_name)
        selected = self._selected(obj, fields)
        found: dict[str, Change] = {}
        for chunk in _chunks(list(values), self.lookup_batch_size):
            for record in self._call(partial(self._find, obj.name, field_name, chunk)):
                found.setdefault(record[KEY_FIELD], self._change(record, selected))
        return list(found.values())

    def _find(self, object_name: str, field_name: str, values: Sequence[str]) -> list[Record]:
        with self.store.transaction():
            keys: list[str] = []
            for value in values:
                if field_name == KEY_FIELD:
                    keys.append(value)  # ids are case-sensitive, as Salesforce's 15-char ones
                else:
                    keys.extend(self.store.find(object_name, field_name, value))
            entries = [self.store.entry(object_name, k) for k in dict.fromkeys(keys)]
            return [e for e in entries if e is not None and not e["_deleted"]]

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """Create, update, upsert or delete; ``max_batch_size`` records per call."""
        obj = self.store.object_schema(object_name)
        results: list[WriteResult] = []
        for chunk in _chunks(records, self.max_batch_size):
            results.extend(self._call(partial(self._write_chunk, obj, chunk), records=len(chunk)))
            self._maybe_crash()
        return results

    def _write_chunk(self, obj: ObjectSchema, chunk: Sequence[OutboundRecord]) -> list[WriteResult]:
        with self.store.transaction():
            return [self._write_one(obj, record) for record in chunk]

    def _write_one(self, obj: ObjectSchema, record: OutboundRecord) -> WriteResult:
        store = self.store
        try:
            key, fields = record.key, dict(record.fields)
            locked = store.row_fault(obj.name, fields, store.get(obj.name, key) if key else None)
            if locked is not None:
                raise locked
            if key is None and record.external_id is not None:
                ext_field, ext_value = record.external_id
                info = obj.fields.get(ext_field)
                if info is None:
                    raise unknown_field(obj, ext_field)
                if not info.external_id:
                    raise ConnectorError(
                        ErrorKind.CONFIG,
                        f"Field {ext_field} is not an external id field on {obj.name}",
                        code="INVALID_FIELD",
                        field=ext_field,
                        hint=f"upsert on a field marked external id on {obj.name}",
                    )
                fields[ext_field] = ext_value
                matches = store.find(obj.name, ext_field, ext_value)
                key = matches[0] if matches else None
                if key is None and record.op is Op.DELETE:
                    raise _not_found()
            if record.op is Op.DELETE:
                if key is None:
                    raise ConnectorError(ErrorKind.VALIDATION, "A delete needs a key",
                                         code="MISSING_ARGUMENT")
                self._check_version(obj, key, record)
                store.delete(obj.name, key)
                return WriteResult(record.ref, WriteStatus.DELETED, key, self._version(obj, key))
            if key is None:
                key = store.create(obj.name, fields)
                return WriteResult(record.ref, WriteStatus.CREATED, key, self._version(obj, key))
            self._check_version(obj, key, record)
            current = store.get(obj.name, key) or {}
            # Resending a read-only field with its current value (a replayed upsert) is not a
            # change; only an actual attempt to change it is an error.
            fields = {n: v for n, v in fields.items()
                      if n not in obj.fields or obj.fields[n].updateable or current.get(n) != v}
            changed = store.update(obj.name, key, fields)
            status = WriteStatus.UPDATED if changed else WriteStatus.UNCHANGED
            return WriteResult(record.ref, status, key, self._version(obj, key))
        except ConnectorError as exc:
            return WriteResult(record.ref, WriteStatus.FAILED, record.key, error=exc)

    def _check_version(self, obj: ObjectSchema, key: str, record: OutboundRecord) -> None:
        entry = self.store.entry(obj.name, key)
        if record.if_match is None or entry is None or entry["_deleted"]:
            return  # a missing record is NOT_FOUND, reported by the operation itself
        if self._changed_since(entry, record):
            raise ConnectorError(
                ErrorKind.CONFLICT,
                f"The record was modified since it was read (version {self._stamp(entry)}, "
                f"expected {record.if_match})",
                code="PRECONDITION_FAILED",
                status=412,
                hint="the record changed in the CRM; the next sync re-reads and merges it",
            )

    def _changed_since(self, entry: Record, record: OutboundRecord) -> bool:
        """Would ``record`` overwrite a change made since the version it is based on?"""
        version = self._stamp(entry)
        if self.capabilities.row_versions:
            return version != record.if_match
        try:
            based_on = datetime.fromisoformat(str(record.if_match))
        except ValueError:
            return True  # not a stamp of ours: nothing shows the record unchanged
        changed_at = datetime.fromisoformat(version)
        if changed_at != based_on:
            return changed_at > based_on
        return overwritten_field(entry, record.fields, record.expected) is not None

    def _version(self, obj: ObjectSchema, key: str) -> str | None:
        entry = self.store.entry(obj.name, key)
        return self._stamp(entry) if entry is not None else None

    def _stamp(self, entry: Record) -> str:
        """A stored record's version, as ``versions:`` says."""
        if self.capabilities.row_versions:
            return str(entry["_seq"])
        return _whole_seconds(entry["_modified_at"]).isoformat()

    def _maybe_crash(self) -> None:
        for holder in (self.store, self):
            left = holder.crash_after_write
            if left:
                left = int(left) - 1
                holder.crash_after_write = left or None
                if left == 0:
                    raise SimulatedCrash(f"simulated crash after a write on {self.name!r}")

    # -- helpers ----------------------------------------------------------------------------

    def _selected(self, obj: ObjectSchema, fields: Sequence[str] | None) -> list[str]:
        if fields is None:
            return list(obj.fields)
        for name in fields:
            if name not in obj.fields:
                raise unknown_field(obj, name)
        return list(dict.fromkeys([KEY_FIELD, *fields]))

    def _change(self, record: Record, selected: list[str]) -> Change:
        key = record[KEY_FIELD]
        modified_at: datetime = record["_modified_at"]
        if not self.capabilities.row_versions:
            modified_at = _whole_seconds(modified_at)
        version = self._stamp(record)
        if record["_deleted"]:
            return Change(key, Op.DELETE, {}, modified_at, version)
        values = {n: record.get(n) for n in selected}
        if CURSOR_FIELD in values:
            values[CURSOR_FIELD] = modified_at.isoformat()
        return Change(key, Op.UPSERT, values, modified_at, version)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _kept(where: Filter, record: Record) -> bool:
    """Does the store return ``record`` under ``where``? (tombstones: always)."""
    return bool(record["_deleted"]) or matches(where, record)


def _sequence(cursor: Cursor | None) -> int:
    """A cursor as the store's sequence number (0 before the first read)."""
    try:
        return int(cursor) if cursor is not None else 0
    except ValueError:
        raise ConnectorError(
            ErrorKind.CONFIG, f"cursor {cursor!r} is not a memory sequence number"
        ) from None


def _not_found() -> ConnectorError:
    """NOT_FOUND for a delete by external id that matches nothing."""
    return ConnectorError(ErrorKind.NOT_FOUND, "The requested resource does not exist",
                          code="NOT_FOUND", status=404)
