"""Writes through ``$batch``: one call per chunk, one embedded response per record.

Every record becomes one request inside the batch, sent with ``Prefer:
odata.continue-on-error`` so a bad record fails alone:

- delete → ``DELETE <set>(<guid>)``;
- update (a key is known) → ``PATCH <set>(<guid>)`` with ``If-Match: *`` (never an upsert by
  accident) or ``If-Match: W/"<version>"`` (a stale version → 412 → CONFLICT);
- create with an external id that is an alternate key → ``PATCH <set>(<column>='<hub id>')``,
  an upsert: a create repeated after a crash updates the row it already made;
- any other create → ``PATCH <set>(<uuid5 of the hub id>)``: the GUID is ours, so the same
  create sent twice is an upsert of one row, never a duplicate.

Each part asks for ``return=representation`` with ``$select=<id>,versionnumber``, so the
answer says created (201) or updated (200) and carries the new row version — which
UpsertMultiple/CreateMultiple cannot (one all-or-nothing answer, no per-record created flag
or version), so they would cost a second call per chunk and a replay when any record fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from connectors.base import Op, OutboundRecord, WriteResult, WriteStatus
from connectors.dynamics.errors import error_of, option_refusal, record_error
from connectors.dynamics.multipart import BatchRequest, BatchResponse, decode_batch, encode_batch
from connectors.dynamics.schema import (
    CURSOR_FIELD,
    EntityInfo,
    odata_literal,
    option_value,
    version_of,
)
from connectors.errors import ConnectorError, ErrorKind, FieldRefusal, picklist_hint

if TYPE_CHECKING:
    from connectors.dynamics.api import WriteApi

#: The namespace of the GUIDs Syncline gives the rows it creates: uuid5(NAMESPACE, hub id).
NAMESPACE = uuid.UUID("5b0c3f0e-8d1e-5f52-9a43-7f3d2c6e9a10")


def record_guid(entity_name: str, hub_id: str) -> str:
    """The GUID a create of hub record ``hub_id`` in ``entity_name`` gets (stable)."""
    return str(uuid.uuid5(NAMESPACE, f"{entity_name}/{hub_id}"))


@dataclass(frozen=True, slots=True)
class Planned:
    """One input record turned into one batch request."""

    index: int
    record: OutboundRecord
    request: BatchRequest
    values: Mapping[str, Any]


class Writer:
    """Turns OutboundRecords into ``$batch`` calls and the embedded answers back into results."""

    def __init__(self, connector: WriteApi) -> None:
        self.connector = connector

    def write(self, entity_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """One result per input, in order; per-record failures are results."""
        described = self.connector.entity(entity_name)
        results: list[WriteResult | None] = [None] * len(records)
        planned: list[Planned] = []
        for index, record in enumerate(records):
            try:
                planned.append(self._plan(described, index, record))
            except ConnectorError as exc:
                results[index] = _failed(record, exc)
        size = self.connector.max_batch_size
        for start in range(0, len(planned), size):
            chunk = planned[start:start + size]
            for item, answer in zip(chunk, self._send(chunk), strict=True):
                results[item.index] = self._result(described, item, answer)
        return [r if r is not None else _failed(records[i], ConnectorError(
            ErrorKind.SYSTEM, "no result for this record")) for i, r in enumerate(results)]

    # -- records → requests -----------------------------------------------------------------

    def _plan(self, described: EntityInfo, index: int, record: OutboundRecord) -> Planned:
        entity_set, pk = described.entity_set, described.primary_id
        if record.op is Op.DELETE:
            if not record.key:
                raise ConnectorError(ErrorKind.CONFIG, "a delete needs the record's key")
            return Planned(index, record, BatchRequest(
                "DELETE", self._path(f"{entity_set}({record.key})")), {})
        if described.info.name == "listmember" and not record.key:
            return self._add_member(index, record)
        select = f"?$select={pk},{CURSOR_FIELD}"
        headers = {"Prefer": "return=representation"}
        skip = {pk}
        if record.key:
            address = f"{entity_set}({record.key})"
            # If-Match is what makes a PATCH an update rather than an upsert.
            headers["If-Match"] = f'W/"{record.if_match}"' if record.if_match else "*"
        elif record.external_id and self._is_alternate_key(described, record.external_id[0]):
            column, value = record.external_id
            literal = quote(odata_literal(described.columns.get(column), value), safe="'")
            address = f"{entity_set}({column}={literal})"
            skip.add(column)  # Dataverse refuses key columns repeated in the body
        else:
            address = f"{entity_set}({record_guid(described.info.name, record.ref)})"
        values = dict(record.fields)
        if record.external_id and record.external_id[0] not in skip:
            values.setdefault(record.external_id[0], record.external_id[1])
        body = self._body(described, {k: v for k, v in values.items() if k not in skip})
        request = BatchRequest("PATCH", self._path(address + select), body, headers)
        return Planned(index, record, request, values)

    def _add_member(self, index: int, record: OutboundRecord) -> Planned:
        """Marketing list members are added by the AddMemberList action, as Dynamics wants.

        The action needs no table for the member (the list's type says it), so a member that
        may be a contact or a lead needs no guess; adding one twice returns the same member.
        """
        list_id, entity_id = record.fields.get("listid"), record.fields.get("entityid")
        if not list_id or not entity_id:
            raise ConnectorError(
                ErrorKind.VALIDATION, "a marketing list member needs listid and entityid",
                code="0x80040200", field="entityid" if list_id else "listid",
                hint="map both the list (ref to the list mapping) and the member (ref to the "
                     "contact or lead mapping)")
        request = BatchRequest(
            "POST", self._path(f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList"),
            {"EntityId": str(entity_id)})
        return Planned(index, record, request, dict(record.fields))

    @staticmethod
    def _is_alternate_key(described: EntityInfo, column: str) -> bool:
        return any(columns == (column,) for columns in described.keys.values())

    def _path(self, relative: str) -> str:
        return urlsplit(self.connector.http.base_url).path + relative

    def _body(self, described: EntityInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        refused: list[ConnectorError] = []
        for name, value in values.items():
            column = described.columns.get(name)
            if column is None:
                body[name] = _wire(value)  # Dataverse names what it does not know
            elif column.is_option_set:
                try:
                    body[name] = self._option(described, name, value)
                except ConnectorError as exc:
                    refused.append(exc)
            elif column.is_lookup:
                body.update(self._binding(column, value))
            else:
                body[name] = _wire(value)
        if refused:
            # Every option label no option has, not only the first: the record goes again
            # without all of them (jobs.refusals), never once per label.
            first = refused[0]
            first.refused = tuple(
                FieldRefusal(str(exc.field), exc.message, exc.code, values.get(str(exc.field)),
                             exc.hint, exc.refusal) for exc in refused)
            raise first
        return body

    @staticmethod
    def _option(described: EntityInfo, name: str, value: Any) -> int | None:
        if value is None or value == "":
            return None
        number = option_value(described.columns[name], value)
        if number is None:
            refusal = option_refusal(value, described.info.fields.get(name))
            raise ConnectorError(
                ErrorKind.VALIDATION,
                f"{value!r} is not an option of {described.info.name}.{name}",
                code="0x8004431a", field=name,
                hint=picklist_hint(name, value, refusal.allowed), refusal=refusal)
        return number

    def _binding(self, column: Any, value: Any) -> dict[str, Any]:
        targets = column.targets or ()
        if value is None or value == "":
            target = targets[0] if targets else column.name
            return {f"{column.navigation(target)}@odata.bind": None}
        guid = str(value)
        known = self.connector.known_targets.get(guid)
        # A Customer lookup names account or contact: the table the GUID was seen in, else the
        # first target (Dataverse then answers not-found for that record alone).
        target = known if known in targets else (targets[0] if targets else column.name)
        entity_set = self.connector.entity(target).entity_set
        return {f"{column.navigation(target)}@odata.bind": f"/{entity_set}({guid})"}

    # -- the call ---------------------------------------------------------------------------

    def _send(self, chunk: Sequence[Planned]) -> list[BatchResponse]:
        body, content_type = encode_batch([p.request for p in chunk])
        response = self.connector.http.post(
            "$batch", data=body.encode("utf-8"),
            headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error",
                     "Accept": "multipart/mixed"})
        try:
            answers = decode_batch(response.text, response.headers.get("Content-Type", ""))
        except ValueError as exc:
            raise ConnectorError(ErrorKind.SYSTEM, f"unreadable $batch response: {exc}",
                                 status=response.status_code) from None
        if len(answers) > len(chunk):
            raise ConnectorError(
                ErrorKind.SYSTEM,
                f"Dynamics answered {len(answers)} parts for {len(chunk)} requests")
        # Fewer answers: the batch stopped early; the rest were never applied, resend later.
        missing = BatchResponse(503, {}, '{"error":{"code":"","message":'
                                         '"not processed: the batch stopped early"}}')
        return answers + [missing] * (len(chunk) - len(answers))

    # -- answers → results ------------------------------------------------------------------

    def _result(self, described: EntityInfo, item: Planned, answer: BatchResponse
                ) -> WriteResult:
        record = item.record
        if not answer.ok:
            error = record_error(error_of(answer.status, answer.json()), described.info,
                                 item.values)
            return _failed(record, error)
        if record.op is Op.DELETE:
            return WriteResult(record.ref, WriteStatus.DELETED, key=record.key)
        row = answer.json() if answer.status != 204 else None
        row = row if isinstance(row, Mapping) else {}
        # AddMemberList answers {"Id": <listmember id>}; the rest name the row by its key.
        key = row.get(described.primary_id) or row.get("Id") or record.key or _entity_id(answer)
        if key:
            self.connector.known_targets[str(key)] = described.info.name
        if record.key:
            status = WriteStatus.UPDATED
        elif described.info.name == "listmember":
            status = WriteStatus.CREATED  # AddMemberList answers 200 for a new member too
        else:
            # 201 created, 200 updated; a bare 204 (no representation) cannot tell: a create.
            status = WriteStatus.UPDATED if answer.status == 200 else WriteStatus.CREATED
        return WriteResult(record.ref, status, key=str(key) if key else None,
                           version=version_of(row) or _etag_version(answer))


def _failed(record: OutboundRecord, error: ConnectorError) -> WriteResult:
    return WriteResult(record.ref, WriteStatus.FAILED, key=record.key, error=error)


def _entity_id(answer: BatchResponse) -> str | None:
    # OData-EntityId: .../leads(<guid>)
    entity_id = answer.header("OData-EntityId") or ""
    if entity_id.endswith(")") and "(" in entity_id:
        inner = entity_id.rsplit("(", 1)[1][:-1]
        return inner if "=" not in inner else None
    return None


def _etag_version(answer: BatchResponse) -> str | None:
    etag = answer.header("ETag")
    return etag.removeprefix("W/").strip('"') if etag else None


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
