"""Registering people to webinars from the hub, and cancelling registrations.

- create (``key`` None): ``POST webinars/{id}/registrants``, one call per person. Zoom answers
  an email already registered with that registration: the result is CREATED with its key, so
  a create repeated after a crash links the record it already made (idempotent, no duplicate).
- update (``key`` given): Zoom cannot edit a registration. Fields that only repeat what Zoom
  holds are UNCHANGED (no write); any other value is a FAILED VALIDATION result.
- delete: ``PUT …/registrants/status`` with ``cancel``, 30 to a call; one already cancelled
  (or unknown) is UNCHANGED, so deleting twice is harmless.

Per-record refusals (300 validation, 3000 no registration, 3001 gone, 3038 over) are FAILED
results; only batch-level failures (auth, rate limits, transport) raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import Op, OutboundRecord, WriteResult, WriteStatus
from connectors.errors import ConnectorError, ErrorKind
from connectors.zoom.api import MAX_STATUS_UPDATES, ZoomApi
from connectors.zoom.reads import Reader
from connectors.zoom.records import (
    PERSON,
    WEBINAR,
    registrant_fields,
    registrant_key,
    split_key,
    version_of,
)
from connectors.zoom.schema import CREATE_FIELDS
from core.values import blank, normalise_email

#: Kinds of error that fail one record, not the whole write.
PER_RECORD = (ErrorKind.VALIDATION, ErrorKind.NOT_FOUND, ErrorKind.CONFLICT,
              ErrorKind.PERMISSION)
READ_ONLY_HINT = {
    WEBINAR: "Zoom webinars are made in Zoom; Syncline only reads them",
    PERSON: "a Zoom person is what their registrations say; register them to a webinar "
            "(the registrant object) instead",
}


def _failed(record: OutboundRecord, kind: ErrorKind, message: str,
            hint: str | None = None) -> WriteResult:
    return WriteResult(record.ref, WriteStatus.FAILED,
                       key=record.key, error=ConnectorError(kind, message, hint=hint))


def refuse_read_only(object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
    """One FAILED result per record: the object cannot be written through Zoom's API."""
    return [_failed(r, ErrorKind.VALIDATION, f"the Zoom {object_name} object is read-only",
                    READ_ONLY_HINT[object_name]) for r in records]


def _same(ours: Any, theirs: Any, name: str) -> bool:
    if blank(ours) and blank(theirs):
        return True
    if name == "email":
        return normalise_email(ours) == normalise_email(theirs)
    return str(ours).strip() == str(theirs).strip()


class RegistrantWriter:
    """Writes of the ``registrant`` object, one result per record in input order."""

    def __init__(self, api: ZoomApi, reader: Reader) -> None:
        self.api = api
        self.reader = reader

    def write(self, records: Sequence[OutboundRecord]) -> list[WriteResult | None]:
        """Creates first-come, then updates and deletes grouped by webinar."""
        results: list[WriteResult | None] = [None] * len(records)
        updates: dict[str, list[int]] = {}
        deletes: dict[str, list[int]] = {}
        for i, record in enumerate(records):
            if record.key is None:
                if record.op == Op.DELETE:
                    results[i] = _failed(record, ErrorKind.VALIDATION, "a delete needs a key")
                else:
                    results[i] = self._create(record)
                continue
            parts = split_key(record.key)
            if parts is None:
                results[i] = _failed(record, ErrorKind.NOT_FOUND,
                                     f"{record.key!r} is not a Zoom registrant key "
                                     "(webinar id:registrant id)")
                continue
            group = deletes if record.op == Op.DELETE else updates
            group.setdefault(parts[0], []).append(i)
        for webinar_id, indexes in updates.items():
            self._update(webinar_id, records, indexes, results)
        for webinar_id, indexes in deletes.items():
            self._cancel(webinar_id, records, indexes, results)
        return results

    # -- create -------------------------------------------------------------------------------

    def _create(self, record: OutboundRecord) -> WriteResult:
        fields = record.fields
        webinar_id = str(fields.get("webinar_id") or "").strip()
        missing = [n for n in ("webinar_id", "email", "first_name") if blank(fields.get(n))]
        if missing:
            return _failed(record, ErrorKind.VALIDATION,
                           f"Zoom needs {', '.join(missing)} to register someone")
        if not webinar_id.isdigit():
            return _failed(record, ErrorKind.VALIDATION,
                           f"webinar_id {webinar_id!r} is not a Zoom webinar id")
        body = {name: str(fields[name]) for name in CREATE_FIELDS
                if name != "webinar_id" and not blank(fields.get(name))}
        try:
            answer = self.api.add_registrant(webinar_id, body)
        except ConnectorError as exc:
            if exc.kind not in PER_RECORD:
                raise
            return WriteResult(record.ref, WriteStatus.FAILED, error=exc)
        finally:
            self.reader.forget(webinar_id)
        registrant_id = str(answer.get("registrant_id") or "")
        row = {**body, "id": registrant_id, "join_url": answer.get("join_url")}
        # Zoom's create time and approval are not in the answer: the next read's version
        # may differ once (the engine then reads what Zoom made of the registration).
        return WriteResult(record.ref, WriteStatus.CREATED,
                           key=registrant_key(webinar_id, registrant_id),
                           version=version_of(registrant_fields(webinar_id, row)))

    # -- update -------------------------------------------------------------------------------

    def _current(self, webinar_id: str) -> dict[str, dict] | None:
        """The webinar's approved registrants by id (the cycle's read if still cached)."""
        rows = self.reader.registrants(webinar_id, None)
        if rows is None:
            return None
        return {str(r.get("id")): r for r in rows}

    def _update(self, webinar_id: str, records: Sequence[OutboundRecord], indexes: list[int],
                results: list[WriteResult | None]) -> None:
        try:
            current = self._current(webinar_id) or {}
        except ConnectorError as exc:
            if exc.kind not in PER_RECORD:
                raise
            for i in indexes:
                results[i] = WriteResult(records[i].ref, WriteStatus.FAILED, records[i].key,
                                         error=exc)
            return
        for i in indexes:
            record = records[i]
            _, registrant_id = split_key(record.key or "") or ("", "")
            row = current.get(registrant_id)
            if row is None:
                results[i] = _failed(record, ErrorKind.NOT_FOUND,
                                     f"Zoom has no approved registration {record.key}")
                continue
            theirs = registrant_fields(webinar_id, row)
            differ = [name for name, value in record.fields.items()
                      if name in theirs and not _same(value, theirs[name], name)]
            if differ:
                results[i] = _failed(
                    record, ErrorKind.VALIDATION,
                    f"Zoom cannot change a registration ({', '.join(sorted(differ))} differ)",
                    "cancel the registration and register the person again to change it")
            else:
                results[i] = WriteResult(record.ref, WriteStatus.UNCHANGED, record.key)

    # -- delete -------------------------------------------------------------------------------

    def _cancel(self, webinar_id: str, records: Sequence[OutboundRecord], indexes: list[int],
                results: list[WriteResult | None]) -> None:
        try:
            rows = self.api.registrants(webinar_id, "approved")
            live = {str(r.get("id")): r for r in rows}
            wanted = {(split_key(records[i].key or "") or ("", ""))[1] for i in indexes}
            if wanted - set(live):
                # A manual-approval webinar's pending registrants may be cancelled too.
                live.update({str(r.get("id")): r
                             for r in self.api.registrants(webinar_id, "pending")})
        except ConnectorError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                for i in indexes:  # the webinar is gone, and its registrations with it
                    results[i] = WriteResult(records[i].ref, WriteStatus.UNCHANGED,
                                             records[i].key)
                return
            raise
        todo: list[tuple[int, Mapping[str, Any]]] = []
        for i in indexes:
            registrant_id = (split_key(records[i].key or "") or ("", ""))[1]
            if registrant_id in live:
                todo.append((i, live[registrant_id]))
            else:
                results[i] = WriteResult(records[i].ref, WriteStatus.UNCHANGED, records[i].key)
        for start in range(0, len(todo), MAX_STATUS_UPDATES):
            batch = todo[start:start + MAX_STATUS_UPDATES]
            people = [{"id": str(row["id"]), "email": str(row.get("email") or "")}
                      for _, row in batch]
            try:
                self.api.update_statuses(webinar_id, "cancel", people)
                outcome: ConnectorError | None = None
            except ConnectorError as exc:
                if exc.kind not in PER_RECORD:
                    raise
                outcome = exc
            for i, _ in batch:
                results[i] = (WriteResult(records[i].ref, WriteStatus.DELETED, records[i].key)
                              if outcome is None else
                              WriteResult(records[i].ref, WriteStatus.FAILED, records[i].key,
                                          error=outcome))
        self.reader.forget(webinar_id)
