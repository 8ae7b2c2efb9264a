"""The memory connector's "remote": records by object, a global change sequence, tombstones.

A store lives in the process, or in a JSON file shared by processes (the demo: the web app,
the scheduler and a script playing a sales rep all see one CRM). File access is guarded by
``fcntl.flock`` on a side lock file; every transaction reloads the file if another process
replaced it and writes it back atomically (temp file + ``os.replace``) when it changed.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from connectors.errors import ConnectorError, ErrorKind
from connectors.memory.schema import (
    KEY_FIELD,
    ObjectSchema,
    check_values,
    default_schema,
    extend_schema,
    unknown_object,
)

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_FILE_FORMAT = 1

#: A stored record: its fields plus ``_seq``, ``_modified_at`` (aware UTC) and ``_deleted``.
Record = dict[str, Any]


class SimulatedCrash(BaseException):  # noqa: N818 - not an error: a stand-in for kill -9
    """Raised by the crash hook after a write was applied: the process "died" right there.

    A BaseException so no ``except Exception`` on the way up can swallow it, as with a real
    crash; tests catch it explicitly.
    """


def _norm(value: Any) -> Any:
    # CRMs compare text case-insensitively in unique indexes and queries.
    return value.casefold() if isinstance(value, str) else value


def _mint_key(prefix: str, seq: int) -> str:
    # 15 characters like a Salesforce id: key prefix, pod "5e", reserved "0", base62 counter.
    digits = ""
    while True:
        seq, rest = divmod(seq, 62)
        digits = _BASE62[rest] + digits
        if not seq:
            break
    return f"{prefix}5e0{digits.rjust(9, '0')}"


class MemoryStore:
    """Records by object with a global sequence; the remote side of :class:`MemoryConnector`.

    Also the hand of "a sales rep editing the CRM" in tests and the demo: :meth:`create`,
    :meth:`update` and :meth:`delete` validate like the CRM's own UI would (``validate=False``
    seeds odd data). Every mutation bumps the sequence; deletes leave tombstones.
    """

    _named: ClassVar[dict[str, MemoryStore]] = {}
    _at_path: ClassVar[dict[str, MemoryStore]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        schema: Mapping[str, ObjectSchema] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.schema: dict[str, ObjectSchema] = dict(schema) if schema else default_schema()
        #: Test hook: crash after this many more applied write chunks (see SimulatedCrash).
        self.crash_after_write: int | None = None
        #: The CRM's clock, which stamps every change (tests stop it to make stamps tie).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._objects: dict[str, dict[str, Record]] = {}
        self._seq = 0
        self._api_key: str | None = None
        self._indexes: dict[tuple[str, str], dict[Any, str]] = {}
        #: Per object, (seq, key) for every mutation in order; entries whose record has moved
        #: on are stale and skipped, and compacted away once they are the majority.
        self._log: dict[str, list[tuple[int, str]]] = {}
        #: Per object, (seq, key) of records purged for good: gone from the feed, listed here.
        self._purged: dict[str, list[tuple[int, str]]] = {}
        self._faults: deque[ConnectorError] = deque()
        self._row_locks: list[list[Any]] = []
        self._lock = threading.RLock()
        self._depth = 0
        self._dirty = False
        self._signature: tuple[int, int, int] | None = None
        with self.transaction():
            if api_key is not None:
                self.api_key = api_key

    # -- shared instances -------------------------------------------------------------------

    @classmethod
    def named(cls, name: str) -> MemoryStore:
        """Return the process-local store of a connection without ``path`` or ``store``."""
        with cls._registry_lock:
            if name not in cls._named:
                cls._named[name] = cls()
            return cls._named[name]

    @classmethod
    def at(cls, path: str | os.PathLike[str]) -> MemoryStore:
        """Return the file-backed store at ``path``, one instance per file in this process."""
        resolved = str(Path(path).resolve())
        with cls._registry_lock:
            if resolved not in cls._at_path:
                cls._at_path[resolved] = cls(resolved)
            return cls._at_path[resolved]

    @classmethod
    def forget_shared(cls) -> None:
        """Drop the named and per-path instances (test isolation; files stay on disk)."""
        with cls._registry_lock:
            cls._named.clear()
            cls._at_path.clear()

    # -- transactions and the file ----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store (and its file) exclusively; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            lock_file = self._lock_file()
            self._depth = 1
            try:
                self._reload_if_changed()
                yield
            finally:
                try:
                    # Saved even when the body raised: what was applied stays applied, as
                    # in a CRM that commits record by record.
                    if self._dirty:
                        self._save()
                finally:
                    self._dirty = False
                    self._depth = 0
                    if lock_file is not None:
                        lock_file.close()  # closing releases the flock

    def _lock_file(self) -> Any:
        if self.path is None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path.with_name(self.path.name + ".lock"), "a+b")  # noqa: SIM115
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _file_signature(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_if_changed(self) -> None:
        if self.path is None:
            return
        signature = self._file_signature()
        if signature == self._signature:
            return
        self._signature = signature
        self._objects, self._seq, self._api_key, self._indexes, self._log = {}, 0, None, {}, {}
        self._purged = {}
        if signature is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._seq = int(data["seq"])
            self._api_key = data.get("api_key")
            for name, records in data["objects"].items():
                loaded = sorted(records, key=lambda r: r["_seq"])
                for record in loaded:
                    record["_modified_at"] = datetime.fromisoformat(record["_modified_at"])
                self._objects[name] = {r[KEY_FIELD]: r for r in loaded}
                self._log[name] = [(r["_seq"], r[KEY_FIELD]) for r in loaded]
            for name, purged in (data.get("purged") or {}).items():
                self._purged[name] = [(int(seq), str(key)) for seq, key in purged]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConnectorError(
                ErrorKind.CONFIG, f"{self.path}: not a memory store file ({exc})"
            ) from None

    def _save(self) -> None:
        if self.path is None:
            return
        objects = {
            name: [{**r, "_modified_at": r["_modified_at"].isoformat()} for r in records.values()]
            for name, records in self._objects.items()
        }
        data = {"format": _FILE_FORMAT, "seq": self._seq, "api_key": self._api_key,
                "objects": objects, "purged": self._purged}
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._signature = self._file_signature()

    # -- settings kept with the data --------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The API key this "CRM" expects; None accepts any caller."""
        with self.transaction():
            return self._api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        with self.transaction():
            if value != self._api_key:
                self._api_key = value
                self._dirty = True

    @property
    def seq(self) -> int:
        """The last sequence number handed out."""
        with self.transaction():
            return self._seq

    def extend_schema(self, config: Mapping[str, Any] | None) -> None:
        """Add or change objects and fields (a connection's ``schema:`` block)."""
        if config:
            with self._lock:
                self.schema = extend_schema(self.schema, config)

    def object_schema(self, object_name: str) -> ObjectSchema:
        """Return the schema of one object; an unknown object raises CONFIG."""
        obj = self.schema.get(object_name)
        if obj is None:
            raise unknown_object(object_name)
        return obj

    # -- faults injected by tests -----------------------------------------------------------

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        """Make the next ``times`` calls fail: ``transient``, ``rate_limited``, ``auth_expired``."""
        errors = {
            "transient": lambda: ConnectorError(
                ErrorKind.TRANSIENT, "503 Service Unavailable", code="SERVER_UNAVAILABLE",
                status=503, retry_after=retry_after),
            "rate_limited": lambda: ConnectorError(
                ErrorKind.RATE_LIMITED, "429 Too Many Requests", code="REQUEST_LIMIT_EXCEEDED",
                status=429, retry_after=retry_after if retry_after is not None else 1.0),
            "auth_expired": lambda: ConnectorError(
                ErrorKind.AUTH, "Session expired or invalid", code="INVALID_SESSION_ID",
                status=401),
        }
        if kind not in errors:
            raise ValueError(f"unknown fault {kind!r} (known: {', '.join(errors)})")
        with self._lock:
            self._faults.extend(errors[kind]() for _ in range(times))

    def next_fault(self) -> ConnectorError | None:
        """Pop the next injected fault, if any."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def lock_row(self, object_name: str, field: str, value: Any, times: int = 1) -> None:
        """Make the next ``times`` writes of the record with ``field == value`` fail on their own.

        Like Salesforce's UNABLE_TO_LOCK_ROW: the call succeeds, that one record does not, and
        the failure is transient (a retry later goes through).
        """
        with self._lock:
            self._row_locks.append([object_name, field, _norm(value), times])

    def row_fault(
        self, object_name: str, fields: Mapping[str, Any], current: Mapping[str, Any] | None
    ) -> ConnectorError | None:
        """The per-record fault for a write of ``fields`` (over ``current``), if one is due."""
        with self._lock:
            for lock in self._row_locks:
                name, field, value, left = lock
                seen = fields.get(field, (current or {}).get(field))
                if name == object_name and left > 0 and _norm(seen) == value:
                    lock[3] = left - 1
                    return ConnectorError(
                        ErrorKind.TRANSIENT,
                        "unable to obtain exclusive access to this record",
                        code="UNABLE_TO_LOCK_ROW",
                        hint="another process was updating the record; it is retried on its own",
                    )
        return None

    # -- reading ----------------------------------------------------------------------------

    def _records(self, object_name: str) -> dict[str, Record]:
        self.object_schema(object_name)
        return self._objects.setdefault(object_name, {})

    def entry(self, object_name: str, key: str) -> Record | None:
        """Return the stored record or tombstone (a copy, private fields included), or None."""
        with self.transaction():
            record = self._records(object_name).get(key)
            return dict(record) if record is not None else None

    def get(self, object_name: str, key: str) -> dict[str, Any] | None:
        """Return a live record's fields (``Id`` included), or None if missing or deleted."""
        record = self.entry(object_name, key)
        if record is None or record["_deleted"]:
            return None
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def all(self, object_name: str) -> list[dict[str, Any]]:
        """Every live record's fields, oldest change first."""
        with self.transaction():
            records = list(self._records(object_name).values())
        return [{k: v for k, v in r.items() if not k.startswith("_")}
                for r in records if not r["_deleted"]]

    def count(self, object_name: str) -> int:
        """How many live records the object has."""
        with self.transaction():
            return sum(1 for r in self._records(object_name).values() if not r["_deleted"])

    def changes(
        self,
        object_name: str,
        since_seq: int,
        limit: int,
        keep: Callable[[Record], bool] | None = None,
    ) -> list[Record]:
        """Up to ``limit`` records and tombstones with ``_seq >= since_seq``, by sequence.

        ``keep``: a query's filter; records it refuses are passed over, as a remote does.
        """
        with self.transaction():
            records = self._records(object_name)
            log = self._log.setdefault(object_name, [])
            found: list[Record] = []
            # The log is append-only and sorted, so a page costs log(n) + its size: an idle
            # poll and the 5,000th page of an initial load are as cheap as the first.
            i = bisect_left(log, (since_seq, ""))
            while i < len(log) and len(found) < limit:
                seq, key = log[i]
                i += 1
                record = records.get(key)
                if record is None or record["_seq"] != seq:
                    continue  # superseded
                if keep is None or keep(record):
                    found.append(dict(record))
            return found

    def find(self, object_name: str, field_name: str, value: Any) -> list[str]:
        """Keys of live records whose field equals ``value`` (text compared case-insensitively)."""
        with self.transaction():
            obj = self.object_schema(object_name)
            target = _norm(value)
            if field_name in obj.unique_fields():
                key = self._index(object_name, field_name).get(target)
                return [key] if key is not None else []
            if target is None:
                return []
            return [k for k, r in self._records(object_name).items()
                    if not r["_deleted"] and _norm(r.get(field_name)) == target]

    def _index(self, object_name: str, field_name: str) -> dict[Any, str]:
        index = self._indexes.get((object_name, field_name))
        if index is None:
            index = {_norm(r[field_name]): k for k, r in self._records(object_name).items()
                     if not r["_deleted"] and r.get(field_name) is not None}
            self._indexes[(object_name, field_name)] = index
        return index

    def _reindex(self, object_name: str, key: str, old: Record | None, new: Record | None) -> None:
        for (obj, field_name), index in self._indexes.items():
            if obj != object_name:
                continue
            was = old.get(field_name) if old is not None and not old["_deleted"] else None
            if was is not None and index.get(_norm(was)) == key:
                del index[_norm(was)]
            if new is not None and not new["_deleted"] and new.get(field_name) is not None:
                index.setdefault(_norm(new[field_name]), key)

    # -- writing ----------------------------------------------------------------------------

    def create(self, object_name: str, fields: Mapping[str, Any], *, validate: bool = True) -> str:
        """Create a record like a user in the CRM's UI would; return its key.

        Raises ConnectorError with the CRM's code (REQUIRED_FIELD_MISSING, DUPLICATE_VALUE...).
        """
        with self.transaction():
            obj = self.object_schema(object_name)
            values = dict(fields)
            if validate:
                values = self._validated(obj, None, values, creating=True)
            self._seq += 1
            key = _mint_key(obj.key_prefix, self._seq)
            record = {KEY_FIELD: key, **obj.defaults, **values}
            self._put(object_name, key, None, record)
            return key

    def update(
        self, object_name: str, key: str, fields: Mapping[str, Any], *, validate: bool = True
    ) -> bool:
        """Change a live record's fields; return False (and bump nothing) if nothing changed."""
        with self.transaction():
            obj = self.object_schema(object_name)
            old = self._live(object_name, key)
            values = dict(fields)
            if validate:
                values = self._validated(obj, key, values, creating=False)
            if all(old.get(name) == value for name, value in values.items()):
                return False
            self._seq += 1
            self._put(object_name, key, old, {**old, **values})
            return True

    def delete(self, object_name: str, key: str) -> None:
        """Delete a live record, leaving a tombstone for the change feed."""
        with self.transaction():
            old = self._live(object_name, key)
            self._seq += 1
            self._put(object_name, key, old, {KEY_FIELD: key, "_deleted": True})

    def purge(self, object_name: str, keys: list[str] | None = None) -> list[str]:
        """Empty the recycle bin: tombstones (all, or of ``keys``) leave the feed for good.

        A key that is not a tombstone refuses the whole purge (NOT_FOUND); the purged keys
        are listed by :meth:`purged` from then on.
        """
        with self.transaction():
            records = self._records(object_name)
            if keys is None:
                keys = [k for k, r in records.items() if r["_deleted"]]
            for key in keys:
                if key not in records or not records[key]["_deleted"]:
                    raise ConnectorError(
                        ErrorKind.NOT_FOUND, f"{key} is not in the recycle bin",
                        code="NOT_FOUND", status=404,
                    )
            log = self._purged.setdefault(object_name, [])
            for key in dict.fromkeys(keys):
                del records[key]
                self._seq += 1
                log.append((self._seq, key))
            self._dirty = self._dirty or bool(keys)
            return list(dict.fromkeys(keys))

    def hard_delete(self, object_name: str, key: str) -> None:
        """Delete a live record past the recycle bin: no tombstone, only :meth:`purged` lists it."""
        with self.transaction():
            self.delete(object_name, key)
            self.purge(object_name, [key])

    def purged(self, object_name: str, since_seq: int) -> tuple[list[str], int]:
        """Keys purged with ``seq >= since_seq``, and the last sequence number handed out."""
        with self.transaction():
            self.object_schema(object_name)
            log = self._purged.get(object_name, [])
            found = log[bisect_left(log, (since_seq, "")):]
            return [key for _, key in found], self._seq

    def version(self, object_name: str, key: str) -> str | None:
        """Return the record's version (its last sequence number), None if missing."""
        record = self.entry(object_name, key)
        return str(record["_seq"]) if record is not None else None

    def _live(self, object_name: str, key: str) -> Record:
        record = self._records(object_name).get(key)
        if record is None or record["_deleted"]:
            raise ConnectorError(
                ErrorKind.NOT_FOUND,
                "entity is deleted" if record is not None
                else "The requested resource does not exist",
                code="ENTITY_IS_DELETED" if record is not None else "NOT_FOUND",
                status=404,
                hint="the record is gone from the CRM: relink or recreate it per the mapping",
            )
        return record

    def _put(self, object_name: str, key: str, old: Record | None, record: Record) -> None:
        record = {**record, "_seq": self._seq, "_modified_at": self.clock(),
                  "_deleted": record.get("_deleted", False)}
        records = self._records(object_name)
        records.pop(key, None)
        records[key] = record  # re-inserted last: dict order stays change order
        self._reindex(object_name, key, old, record)
        log = self._log.setdefault(object_name, [])
        log.append((self._seq, key))
        if len(log) > 1000 and len(log) > 2 * len(records):
            self._log[object_name] = [(r["_seq"], k) for k, r in records.items()]
        self._dirty = True

    def _validated(
        self, obj: ObjectSchema, key: str | None, values: dict[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        clean, error = check_values(obj, values, creating=creating)
        if error is not None:
            raise error
        for field_name in obj.unique_fields():
            value = clean.get(field_name)
            if value is None:
                continue
            other = self._index(obj.name, field_name).get(_norm(value))
            if other is not None and other != key:
                raise ConnectorError(
                    ErrorKind.DUPLICATE,
                    f"duplicate value found: {field_name} duplicates value on record with id: "
                    f"{other}",
                    code="DUPLICATE_VALUE",
                    field=field_name,
                    hint=f"{obj.name} {other} already has this {field_name}: match on "
                    f"{field_name} before creating, or merge the two records",
                )
        for field_name, value in clean.items():
            info = obj.fields[field_name]
            if info.type != "reference" or value is None:
                continue
            targets = [t for t in info.reference_to if t in self.schema]
            if targets and not any(self._exists(t, value) for t in targets):
                raise ConnectorError(
                    ErrorKind.VALIDATION,
                    f"{field_name}: invalid cross reference id: {value}",
                    code="INVALID_CROSS_REFERENCE_KEY",
                    field=field_name,
                    hint=f"{field_name} must point at an existing {' or '.join(targets)}: sync "
                    "that record first",
                )
        return clean

    def _exists(self, object_name: str, key: Any) -> bool:
        record = self._objects.get(object_name, {}).get(key) if isinstance(key, str) else None
        return record is not None and not record["_deleted"]
