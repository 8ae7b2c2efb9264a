"""Writes through sObject Collections (200 per call), handing big batches to Bulk API 2.0.

One result per input, in input order. Records are grouped by operation — delete, update,
upsert on an external id, create — because each is its own Collections call; a group of
``bulk_threshold`` records or more goes to Bulk 2.0 instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.base import ObjectInfo, Op, OutboundRecord, WriteResult, WriteStatus
from connectors.concurrency import overwritten_field
from connectors.errors import ConnectorError, ErrorKind
from connectors.salesforce.bulk import BulkIngest
from connectors.salesforce.errors import record_error
from connectors.salesforce.schema import (
    in_lists,
    outbound_value,
    parse_datetime,
    quote,
    soql_datetime,
    unreadable_as,
)

if TYPE_CHECKING:
    from connectors.salesforce.api import WriteApi

#: Pause before resending records that met UNABLE_TO_LOCK_ROW: another transaction held
#: the row, and they usually finish within a second.
LOCK_RETRY_SECONDS = 0.5


def _sleep(seconds: float) -> None:
    # Looked up at call time so tests can patch ``time.sleep``.
    time.sleep(seconds)


@dataclass(slots=True)
class Pending:
    """One input record on its way: its position, what to send, and where."""

    index: int
    record: OutboundRecord
    key: str | None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def operation(self) -> str:
        """``delete``, ``update``, ``upsert`` or ``insert`` (Bulk 2.0's names)."""
        if self.record.op is Op.DELETE:
            return "delete"
        if self.key is not None:
            return "update"
        return "upsert" if self.record.external_id is not None else "insert"

    @property
    def group(self) -> tuple[str, str | None]:
        """Records sharing one Collections/Bulk call: operation and external id field."""
        ext = self.record.external_id[0] if self.operation == "upsert" else None
        return self.operation, ext  # type: ignore[index]


class Writer:
    """Turns OutboundRecords into Collections and Bulk calls and their results back."""

    def __init__(self, connector: WriteApi) -> None:
        self.connector = connector
        self.sleep: Callable[[float], None] = _sleep

    @property
    def transport(self) -> Any:
        """The connector's transport (looked up each time: tests may replace it)."""
        return self.connector.transport

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """One result per input, in order; per-record failures are results."""
        results: list[WriteResult | None] = [None] * len(records)
        pending: list[Pending] = []
        for index, record in enumerate(records):
            values = {k: outbound_value(v) for k, v in record.fields.items()}
            pending.append(Pending(index, record, record.key, values))
        self._resolve_delete_keys(object_name, pending, results)
        self._check_versions(object_name, pending, results)
        if object_name == "CampaignMember":
            self._ensure_member_statuses([p for p in pending if results[p.index] is None])
        todo = [p for p in pending if results[p.index] is None]
        locked = self._dispatch(object_name, todo, results)
        if locked:
            # Row locks clear quickly: one resend after a pause, within this same write.
            self.sleep(LOCK_RETRY_SECONDS)
            self._dispatch(object_name, locked, results, final=True)
        return [r if r is not None else _lost(records[i]) for i, r in enumerate(results)]

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(
        self, object_name: str, todo: Sequence[Pending], results: list[WriteResult | None],
        *, final: bool = False,
    ) -> list[Pending]:
        groups: dict[tuple[str, str | None], list[Pending]] = {}
        for item in todo:
            groups.setdefault(item.group, []).append(item)
        locked: list[Pending] = []
        for (operation, ext_field), items in groups.items():
            if len(items) >= self.connector.bulk_threshold and not final:
                bulk = BulkIngest(self.connector, object_name, operation, ext_field)
                for item, outcome in zip(items, bulk.run(items), strict=True):
                    results[item.index] = self._result(object_name, item, outcome)
                continue
            size = self.connector.max_batch_size
            for start in range(0, len(items), size):
                chunk = items[start:start + size]
                outcomes = self._collections_call(object_name, operation, ext_field, chunk)
                for item, outcome in zip(chunk, outcomes, strict=True):
                    if not final and _is_lock(outcome):
                        locked.append(item)
                        continue
                    results[item.index] = self._result(object_name, item, outcome)
        return locked

    def _collections_call(
        self, object_name: str, operation: str, ext_field: str | None, chunk: Sequence[Pending]
    ) -> list[dict[str, Any]]:
        try:
            return self._collections_request(object_name, operation, ext_field, chunk)
        except ConnectorError as exc:
            if exc.code != "JSON_PARSER_ERROR" or operation == "delete":
                raise
            return self._without_unreadable(object_name, operation, ext_field, chunk, exc)

    def _without_unreadable(
        self, object_name: str, operation: str, ext_field: str | None,
        chunk: Sequence[Pending], refusal: ConnectorError,
    ) -> list[dict[str, Any]]:
        """The chunk again without its records whose values Salesforce cannot read at all.

        A text in a number or date field fails the whole request, naming one value and no
        field. Describe says which records hold such values: each fails alone, naming its
        fields, and the rest go in one more call. When describe finds none, the error stands.
        """
        info = self._info(object_name)
        fields = info.fields if info is not None else {}
        outcomes: dict[int, dict[str, Any]] = {}
        for position, item in enumerate(chunk):
            errors = [
                {"statusCode": "JSON_PARSER_ERROR", "fields": [name],
                 "message": _unreadable_message(refusal.message, type_name, value)}
                for name, value in item.values.items()
                if (type_name := unreadable_as(fields.get(name), value)) is not None
            ]
            if errors:
                outcomes[position] = {"success": False, "errors": errors}
        if not outcomes:
            raise refusal
        rest = [item for position, item in enumerate(chunk) if position not in outcomes]
        answers = iter(self._collections_call(object_name, operation, ext_field, rest)
                       if rest else [])
        return [outcomes[position] if position in outcomes else next(answers)
                for position in range(len(chunk))]

    def _collections_request(
        self, object_name: str, operation: str, ext_field: str | None, chunk: Sequence[Pending]
    ) -> list[dict[str, Any]]:
        if operation == "delete":
            ids = ",".join(p.key or "" for p in chunk)
            answer = self.transport.call(lambda sf: sf.restful(
                "composite/sobjects", method="DELETE",
                params={"ids": ids, "allOrNone": "false"}))
        else:
            body = {"allOrNone": False, "records": [
                self._body(object_name, operation, ext_field, p) for p in chunk]}
            if operation == "insert":
                path, method = "composite/sobjects", "POST"
            elif operation == "update":
                path, method = "composite/sobjects", "PATCH"
            else:
                path, method = f"composite/sobjects/{object_name}/{ext_field}", "PATCH"
            answer = self.transport.call(
                lambda sf: sf.restful(path, method=method, json=body))
        if not isinstance(answer, list) or len(answer) != len(chunk):
            raise ConnectorError(
                ErrorKind.SYSTEM,
                f"Salesforce answered {len(answer) if isinstance(answer, list) else 'nothing'} "
                f"results for {len(chunk)} records",
            )
        return answer

    @staticmethod
    def _body(
        object_name: str, operation: str, ext_field: str | None, item: Pending
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"attributes": {"type": object_name}, **item.values}
        if operation == "update":
            body["id"] = item.key
        elif operation == "upsert" and ext_field is not None and item.record.external_id:
            body[ext_field] = item.record.external_id[1]
        return body

    def _result(
        self, object_name: str, item: Pending, outcome: Mapping[str, Any]
    ) -> WriteResult:
        ref = item.record.ref
        if not outcome.get("success"):
            error = record_error(outcome.get("errors") or [], self._info(object_name),
                                 item.values)
            return WriteResult(ref, WriteStatus.FAILED, item.key, error=error)
        key = str(outcome.get("id") or item.key or "")
        operation = item.operation
        if operation == "delete":
            return WriteResult(ref, WriteStatus.DELETED, key)
        if operation == "update":
            status = WriteStatus.UPDATED
        elif operation == "insert":
            status = WriteStatus.CREATED
        else:
            status = WriteStatus.CREATED if outcome.get("created") else WriteStatus.UPDATED
        return WriteResult(ref, status, key, self._write_version())

    def _info(self, object_name: str) -> ObjectInfo | None:
        # Describe only on the error path (cached): the hints need it, successes do not.
        try:
            return self.connector.object_info(object_name)
        except ConnectorError:
            return None

    def _write_version(self) -> str:
        """A version for a record we just wrote: a moment at or before its SystemModstamp.

        Collections results carry no SystemModstamp and fetching it would cost a call per
        chunk, so the server's clock (``Date``, whole seconds) minus a second stands in.
        :meth:`_check_versions` treats it as "changed by someone else since this moment".
        """
        now = self.transport.server_time or datetime.now(UTC)
        return soql_datetime(now - timedelta(seconds=1))

    # -- before writing ---------------------------------------------------------------------

    def _resolve_delete_keys(
        self, object_name: str, pending: Sequence[Pending], results: list[WriteResult | None]
    ) -> None:
        """Deletes named by external id only: find their ids (one lookup per field)."""
        by_field: dict[str, list[Pending]] = {}
        for item in pending:
            if item.record.op is Op.DELETE and item.key is None and item.record.external_id:
                by_field.setdefault(item.record.external_id[0], []).append(item)
        for ext_field, items in by_field.items():
            values = [i.record.external_id[1] for i in items]  # type: ignore[index]
            found = self.connector.lookup(object_name, ext_field, values, fields=[ext_field])
            keys = {str(c.fields.get(ext_field)).lower(): c.key for c in found}
            for item in items:
                item.key = keys.get(str(item.record.external_id[1]).lower())  # type: ignore[index]
                if item.key is None:
                    results[item.index] = WriteResult(
                        item.record.ref, WriteStatus.FAILED, None, error=ConnectorError(
                            ErrorKind.NOT_FOUND, "The requested resource does not exist",
                            code="NOT_FOUND"))
        for item in pending:
            if item.record.op is Op.DELETE and item.key is None and results[item.index] is None:
                results[item.index] = WriteResult(
                    item.record.ref, WriteStatus.FAILED, None, error=ConnectorError(
                        ErrorKind.VALIDATION, "A delete needs a key or an external id",
                        code="MISSING_ARGUMENT"))

    def _check_versions(
        self, object_name: str, pending: Sequence[Pending], results: list[WriteResult | None]
    ) -> None:
        """``if_match`` on updates: CONFLICT when someone else changed the record since.

        Collections have no conditional update, so one query per ~400 such records reads
        SystemModstamp, LastModifiedById and the fields being written just before the write.
        Changes by the integration user itself (our own earlier writes) are not conflicts.
        SystemModstamp has whole seconds, so a change stamped with the version itself may
        have come after our read: for those rows the values decide (connectors.concurrency).
        """
        checked = [p for p in pending if p.record.if_match and p.key and p.operation == "update"
                   and results[p.index] is None and not _unparsable(p.record.if_match)]
        if not checked:
            return
        token = self.transport.token
        me = token.user_id if token is not None else None
        by_key = {str(p.key)[:15]: p for p in checked}
        oldest = min(parse_datetime(str(p.record.if_match)) for p in checked)
        written = dict.fromkeys(name for p in checked for name in p.values)
        columns = ", ".join(dict.fromkeys(["Id", "SystemModstamp", "LastModifiedById", *written]))
        for ids in in_lists((p.key for p in checked), max_items=2000):
            if me is None and self.transport.token is not None:
                me = self.transport.token.user_id
            # Only rows someone else changed at or after the oldest version come back: in the
            # usual case none, so the check costs one call per ~400 records and no rows.
            others = f" AND LastModifiedById != {quote(me)}" if me else ""
            soql = (f"SELECT {columns} FROM {object_name} "
                    f"WHERE Id IN ({', '.join(ids)}) AND SystemModstamp >= "
                    f"{soql_datetime(oldest)}{others}")
            for row in self.connector.query_rows(soql):
                item = by_key.get(row["Id"][:15])
                by_other = me is None or str(row.get("LastModifiedById", ""))[:15] != me[:15]
                if item is None or not by_other:
                    continue
                conflict = _foreign_change(row, item)
                if conflict is not None:
                    results[item.index] = WriteResult(
                        item.record.ref, WriteStatus.FAILED, item.key, error=conflict)

    def _ensure_member_statuses(self, pending: Sequence[Pending]) -> None:
        """Create the CampaignMemberStatus labels members are about to use (one query, one call).

        A member's Status must be one of its campaign's statuses; creating a missing label
        first means a new status value in the hub never fails the member write. A label in
        ``responded_statuses`` is created as a response (Attended, Filled-out Form).
        """
        wanted: dict[str, set[str]] = {}
        for item in pending:
            campaign, status = item.values.get("CampaignId"), item.values.get("Status")
            if item.record.op is not Op.DELETE and campaign and isinstance(status, str) and status:
                wanted.setdefault(str(campaign), set()).add(status)
        if not wanted:
            return
        ids = ", ".join(quote(c) for c in wanted)
        soql = ("SELECT CampaignId, Label, SortOrder FROM CampaignMemberStatus "
                f"WHERE CampaignId IN ({ids})")
        existing: dict[str, set[str]] = {}
        next_order: dict[str, int] = {}
        for row in self.connector.query_rows(soql):
            campaign = str(row["CampaignId"])[:15]
            existing.setdefault(campaign, set()).add(str(row["Label"]).lower())
            next_order[campaign] = max(next_order.get(campaign, 0), int(row.get("SortOrder") or 0))
        missing: list[dict[str, Any]] = []
        responded = {label.casefold() for label in self.connector.settings.responded_statuses}
        for campaign, labels in wanted.items():
            short = campaign[:15]
            for label in sorted(labels):
                if label.lower() not in existing.get(short, set()):
                    next_order[short] = next_order.get(short, 0) + 1
                    missing.append({"attributes": {"type": "CampaignMemberStatus"},
                                    "CampaignId": campaign, "Label": label,
                                    "HasResponded": label.casefold() in responded,
                                    "SortOrder": next_order[short]})
        for start in range(0, len(missing), 200):
            body = {"allOrNone": False, "records": missing[start:start + 200]}
            # A label another process created meanwhile fails here as a duplicate, which is
            # fine: the member write that follows finds it either way.
            self.transport.call(
                lambda sf, b=body: sf.restful("composite/sobjects", method="POST", json=b))


def _unreadable_message(remote: str, type_name: str, value: Any) -> str:
    """Salesforce's words for the value it named; the same words for the others it did not."""
    if f"value {value} " in remote:
        return remote
    return (f"Cannot deserialize instance of {type_name} from VALUE_STRING value {value} or "
            "request may be missing a required field")


def _is_lock(outcome: Mapping[str, Any]) -> bool:
    errors = outcome.get("errors") or []
    return not outcome.get("success") and any(
        e.get("statusCode") == "UNABLE_TO_LOCK_ROW" for e in errors)


def _foreign_change(row: Mapping[str, Any], item: Pending) -> ConnectorError | None:
    """The CONFLICT an update would meet on ``row`` (changed by someone else), None if none."""
    stamp, based_on = row["SystemModstamp"], str(item.record.if_match)
    changed_at, read_at = parse_datetime(stamp), parse_datetime(based_on)
    if changed_at < read_at:
        return None  # the row came back for another record's older version
    if changed_at > read_at:
        return ConnectorError(
            ErrorKind.CONFLICT,
            f"The record was modified in Salesforce at {stamp}, after the version this "
            f"update was based on ({based_on})",
            code="PRECONDITION_FAILED", hint=_CONFLICT_HINT)
    name = overwritten_field(row, item.values, item.record.expected)
    if name is None:
        return None  # a change in the same second, but not to anything this update writes
    return ConnectorError(
        ErrorKind.CONFLICT,
        f"{name} was changed in Salesforce at {stamp}, in the same second as the version "
        f"this update was based on; it now holds {row.get(name)!r}",
        code="PRECONDITION_FAILED", field=name, hint=_CONFLICT_HINT)


_CONFLICT_HINT = "the record changed in Salesforce; the next sync re-reads and merges it"


def _unparsable(version: str | None) -> bool:
    try:
        parse_datetime(str(version))
    except ValueError:
        return True
    return False


def _lost(record: OutboundRecord) -> WriteResult:
    # Every path above fills its results; this guards the one-result-per-input contract.
    return WriteResult(record.ref, WriteStatus.FAILED, record.key, error=ConnectorError(
        ErrorKind.SYSTEM, "no result was produced for this record"))
