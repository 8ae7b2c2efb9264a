"""Bulk API 2.0 ingest for big writes: one job, CSV in, per-record results matched back.

Our own calls through the connector's transport (so every one is counted, retried and
re-authenticated like the rest), rather than simple-salesforce's bulk2 helper, which
sleeps 5 s before polling and talks to the session behind our back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from connectors.errors import ConnectorError, ErrorKind
from core import shutdown
from core.redaction import redact

if TYPE_CHECKING:
    from connectors.base import OutboundRecord
    from connectors.salesforce.api import BulkApi

#: In Bulk CSV an empty cell leaves a field unchanged; this literal sets it to null.
CSV_NULL = "#N/A"
_TERMINAL = {"JobComplete", "Failed", "Aborted"}
_FIELDS = re.compile(r"^[A-Za-z0-9_, ]*$")
#: The end of one error in an ``sf__Error`` cell where another error's CODE: follows.
_ERROR_END = re.compile(r"(?<=--)[;\s]+(?=[A-Z][A-Z0-9_]*:)")
#: Calls one job takes at least: create, upload, close, one poll, and its three result lists.
BULK_JOB_CALLS = 7
#: Never poll forever: a job still running after this long is left to finish on its own.
MAX_WAIT_SECONDS = 3600.0


def _sleep(seconds: float) -> None:
    # A Bulk job may run for an hour: a stopping process leaves between polls. The job goes on
    # in Salesforce; the records are upserted by external id again by the next cycle.
    shutdown.sleep(seconds)


class BulkItem(Protocol):
    """One record of a job as the writer prepared it: its key, values and the original."""

    @property
    def key(self) -> str | None:
        """The record's Id, when known (updates and deletes)."""
        ...

    @property
    def values(self) -> Mapping[str, Any]:
        """The field values to send, already in Salesforce's form."""
        ...

    @property
    def record(self) -> OutboundRecord:
        """The record as the engine asked for it (its external id)."""
        ...


class BulkIngest:
    """One Bulk 2.0 ingest job for one operation on one object."""

    def __init__(
        self,
        connector: BulkApi,
        object_name: str,
        operation: str,
        external_id_field: str | None = None,
    ) -> None:
        self.connector = connector
        self.transport = connector.transport
        self.object_name = object_name
        self.operation = operation
        self.external_id_field = external_id_field

    def run(self, items: Sequence[BulkItem]) -> list[dict[str, Any]]:
        """Upload, wait, and return one Collections-shaped outcome per item, in order."""
        columns, rows = self._table(items)
        job = self._json("POST", "jobs/ingest/", json=self._job_spec())
        job_id = str(job["id"])
        upload = _csv(columns, rows)
        self.transport.raw("PUT", f"jobs/ingest/{job_id}/batches",
                           data=upload.encode("utf-8"), headers={"Content-Type": "text/csv"})
        self._json("PATCH", f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        state = self._wait(job_id)
        if state.get("state") != "JobComplete":
            message = state.get("errorMessage") or f"Bulk job {job_id} ended {state.get('state')}"
            raise ConnectorError(ErrorKind.SYSTEM, redact(str(message)), code="BULK_JOB_FAILED")
        succeeded = self._results(job_id, "successfulResults/")
        failed = self._results(job_id, "failedResults/")
        unprocessed = self._results(job_id, "unprocessedrecords/")
        return self._match(items, columns, rows, succeeded, failed, unprocessed)

    def _job_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"object": self.object_name, "operation": self.operation,
                                "contentType": "CSV", "lineEnding": "LF",
                                "columnDelimiter": "COMMA"}
        if self.external_id_field:
            spec["externalIdFieldName"] = self.external_id_field
        return spec

    def _table(self, items: Sequence[BulkItem]) -> tuple[list[str], list[list[str]]]:
        if self.operation == "delete":
            return ["Id"], [[str(i.key)] for i in items]
        records: list[dict[str, Any]] = []
        for item in items:
            values = dict(item.values)
            if self.operation == "update":
                values["Id"] = item.key
            elif self.operation == "upsert" and item.record.external_id:
                values[item.record.external_id[0]] = item.record.external_id[1]
            records.append(values)
        columns = list(dict.fromkeys(name for values in records for name in values))
        rows = [[_cell(values, name) for name in columns] for values in records]
        return columns, rows

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.transport.raw(method, path, **kwargs)
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {}

    def _wait(self, job_id: str) -> dict[str, Any]:
        waited = 0.0
        poll = self.connector.bulk_poll_seconds
        while True:
            _sleep(poll)
            waited += poll
            state = self._json("GET", f"jobs/ingest/{job_id}")
            if state.get("state") in _TERMINAL:
                return state
            if waited > MAX_WAIT_SECONDS:
                raise ConnectorError(
                    ErrorKind.TRANSIENT, f"Bulk job {job_id} still running after "
                    f"{MAX_WAIT_SECONDS:.0f} s", code="BULK_JOB_TIMEOUT")
            # Back off up to 10 s between polls: each poll is an API call.
            poll = min(max(poll * 1.5, 0.05), 10.0)

    def _results(self, job_id: str, kind: str) -> list[dict[str, str]]:
        response = self.transport.raw("GET", f"jobs/ingest/{job_id}/{kind}")
        text = response.content.decode("utf-8-sig") if response.content else ""
        return list(csv.DictReader(io.StringIO(text))) if text.strip() else []

    def _match(
        self,
        items: Sequence[BulkItem],
        columns: list[str],
        rows: list[list[str]],
        succeeded: list[dict[str, str]],
        failed: list[dict[str, str]],
        unprocessed: list[dict[str, str]],
    ) -> list[dict[str, Any]]:
        """Result rows back to inputs by Id / external id, else by the row's own values.

        Bulk result files come in no particular order; every result row repeats the
        uploaded columns, so identical uploads are interchangeable and matched in turn.
        """
        match_on = self._match_columns(columns)
        waiting: dict[tuple[str, ...], list[int]] = {}
        for index, row in enumerate(rows):
            values = dict(zip(columns, row, strict=True))
            waiting.setdefault(_signature(values, match_on), []).append(index)
        outcomes: list[dict[str, Any] | None] = [None] * len(items)

        def claim(row: Mapping[str, str]) -> int | None:
            queue = waiting.get(_signature(row, match_on))
            return queue.pop(0) if queue else None

        for row in succeeded:
            index = claim(row)
            if index is not None:
                outcomes[index] = {"success": True, "id": row.get("sf__Id") or items[index].key,
                                   "created": row.get("sf__Created", "").lower() == "true"}
        for row in failed:
            index = claim(row)
            if index is not None:
                outcomes[index] = {"success": False,
                                   "errors": parse_bulk_errors(row.get("sf__Error", ""))}
        for row in unprocessed:
            index = claim(row)
            if index is not None:
                outcomes[index] = _unprocessed()
        return [o if o is not None else _unprocessed() for o in outcomes]

    def _match_columns(self, columns: list[str]) -> list[str]:
        if self.operation in ("update", "delete"):
            return ["Id"]
        if self.operation == "upsert" and self.external_id_field:
            return [self.external_id_field]
        return columns


def parse_bulk_errors(text: str) -> list[dict[str, Any]]:
    """A failedResults ``sf__Error`` cell as per-record error dicts (Collections' shape).

    Each error reads ``CODE:message:Field1,Field2 --`` (``CODE:message:--`` naming no field);
    a cell holding several is read as several, whatever separates them after the ``--``.
    """
    parts = [part for part in _ERROR_END.split(text.strip()) if part.strip()]
    return [parse_bulk_error(part) for part in parts] or [parse_bulk_error(text)]


def parse_bulk_error(text: str) -> dict[str, Any]:
    """One ``CODE:message:Field1,Field2 --`` error as a per-record error dict."""
    body = text.strip()
    if body.endswith("--"):
        body = body[:-2].rstrip()
    code, _, rest = body.partition(":")
    message, fields = rest, ""
    if ":" in rest:
        head, _, tail = rest.rpartition(":")
        if _FIELDS.match(tail):
            message, fields = head, tail
    return {"statusCode": code.strip() or "UNKNOWN_EXCEPTION", "message": message.strip(),
            "fields": [f.strip() for f in fields.split(",") if f.strip()]}


def _signature(row: Mapping[str, str], columns: Sequence[str]) -> tuple[str, ...]:
    # Ids compare on their first 15 characters: results may echo either form.
    return tuple((row.get(c) or "")[:15] if c == "Id" else (row.get(c) or "") for c in columns)


def _cell(values: Mapping[str, Any], name: str) -> str:
    if name not in values:
        return ""
    value = values[name]
    if value is None:
        return CSV_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(columns: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _unprocessed() -> dict[str, Any]:
    return {"success": False, "errors": [{
        "statusCode": "SERVER_UNAVAILABLE",
        "message": "Salesforce did not process this record in the bulk job",
        "fields": []}]}
