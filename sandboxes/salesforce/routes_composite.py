"""sObject Collections (``/composite/sobjects``): create, update, upsert, delete and retrieve."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from sandboxes.salesforce import ids
from sandboxes.salesforce.context import state
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.routes_data import (
    check_readable,
    external_id_field,
    lock_check,
    lock_target,
    with_attributes,
)
from sandboxes.salesforce.wire import json_response, request_json

MAX_COLLECTION_SIZE = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


class _RollBackError(Exception):
    """Raised inside the savepoint so the Org undoes an allOrNone request."""


def add_composite_routes(blueprint: Blueprint) -> None:
    """Register the Collections routes on the data blueprint."""
    blueprint.add_url_rule(
        "/composite/sobjects/", view_func=_collection, methods=["POST", "PATCH", "DELETE"]
    )
    blueprint.add_url_rule(
        "/composite/sobjects/<sobject>/", view_func=_retrieve, methods=["GET", "POST"]
    )
    blueprint.add_url_rule(
        "/composite/sobjects/<sobject>/<field_name>/", view_func=_upsert, methods=["PATCH"]
    )


# An operation is planned per record: the id to report (None for creates), the row a write
# locks, and either an error found while reading the request or the write to perform.
Write = Callable[[], dict]


class _Planned:
    def __init__(
        self,
        record_id: str | None,
        target: str,
        write: Write | None = None,
        error: SalesforceError | None = None,
    ) -> None:
        self.record_id = record_id
        self.target = target
        self.write = write
        self.error = error


def _too_many(count: int) -> SalesforceError:
    return SalesforceError(
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_COLLECTION_SIZE} records into "
        f"this call (got {count})",
    )


def _records_body() -> tuple[list[dict], bool]:
    body = request_json()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
        raise SalesforceError("JSON_PARSER_ERROR", "records must be a list of sObjects")
    if not records:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "At least 1 record is required.")
    if len(records) > MAX_COLLECTION_SIZE:
        raise _too_many(len(records))
    return records, _truthy(body.get("allOrNone", False))


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _record_type(record: dict) -> str | None:
    attributes = record.get("attributes")
    return attributes.get("type") if isinstance(attributes, dict) else None


def _fields_of(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "attributes"}


def _pop_id(fields: dict) -> str | None:
    for key in [key for key in fields if key.lower() == "id"]:
        return fields.pop(key)
    return None


def _run(planned: list[_Planned], all_or_none: bool) -> Response:
    """Perform the planned writes (atomically when ``all_or_none``); results in request order."""
    sandbox = state()
    sandbox.faults.sleep_for_records(len(planned))
    locks = lock_check([plan.target for plan in planned])
    for plan, locked in zip(planned, locks, strict=True):
        if plan.error is None and locked is not None:
            plan.error = locked

    def attempt(plan: _Planned) -> dict:
        try:
            if plan.error is not None:
                raise plan.error
            assert plan.write is not None
            return plan.write()
        except SalesforceError as error:
            result: dict = {"success": False, "errors": error.record_errors()}
            if plan.record_id:
                result = {"id": plan.record_id, **result}
            return result

    with sandbox.org_lock:
        if not all_or_none:
            return json_response([attempt(plan) for plan in planned])
        results: list[dict] = []
        try:
            with sandbox.org.savepoint():
                results = [attempt(plan) for plan in planned]
                if not all(result["success"] for result in results):
                    raise _RollBackError
        except _RollBackError:
            for index, (plan, result) in enumerate(zip(planned, results, strict=True)):
                if result["success"]:
                    rolled_back: dict = {"success": False, "errors": [dict(ROLLED_BACK)]}
                    if plan.record_id:
                        rolled_back = {"id": plan.record_id, **rolled_back}
                    results[index] = rolled_back
    return json_response(results)


def _collection() -> Response:
    if request.method == "DELETE":
        return _delete()
    records, all_or_none = _records_body()
    check_readable(records, lambda record: _record_type(record) or ids.object_of(
        str(_value_of(record, "Id") or "")))
    org = state().org
    planned: list[_Planned] = []
    for record in records:
        sobject, fields = _record_type(record), _fields_of(record)
        if request.method == "POST":
            record_id = _pop_id(fields)
            plan = _Planned(None, lock_target(fields))
            if record_id is not None:
                plan.error = SalesforceError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                )
            elif not sobject:
                plan.error = _missing_type()
            else:
                plan.write = _insert(org, sobject, fields)
        else:
            record_id = _pop_id(fields)
            plan = _Planned(record_id, record_id or "")
            if not record_id:
                plan.error = SalesforceError(
                    "MISSING_ARGUMENT", "Id not specified in an update call"
                )
            elif not (sobject or ids.object_of(record_id)):
                plan.error = _missing_type()
            else:
                plan.write = _update(
                    org, sobject or ids.object_of(record_id) or "", record_id, fields
                )
        planned.append(plan)
    return _run(planned, all_or_none)


def _missing_type() -> SalesforceError:
    return SalesforceError("INVALID_TYPE", "sObject type in attributes.type is required")


def _insert(org: Any, sobject: str, fields: dict) -> Write:
    def write() -> dict:
        return {"id": org.insert(sobject, fields), "success": True, "errors": []}

    return write


def _update(org: Any, sobject: str, record_id: str, fields: dict) -> Write:
    def write() -> dict:
        org.update(sobject, record_id, fields)
        return {"id": record_id, "success": True, "errors": []}

    return write


def _delete() -> Response:
    raw_ids = [item.strip() for item in request.args.get("ids", "").split(",") if item.strip()]
    if not raw_ids:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "At least 1 Id is required.")
    if len(raw_ids) > MAX_COLLECTION_SIZE:
        raise _too_many(len(raw_ids))
    org = state().org
    planned = []
    for record_id in raw_ids:
        plan = _Planned(record_id, record_id)
        if not ids.is_valid(record_id):
            plan.error = SalesforceError("MALFORMED_ID", f"malformed id {record_id}")
        else:
            plan.write = _delete_one(org, record_id)
        planned.append(plan)
    return _run(planned, _truthy(request.args.get("allOrNone", "false")))


def _delete_one(org: Any, record_id: str) -> Write:
    def write() -> dict:
        found = org.by_id(record_id)
        if found is None:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        org.delete(found[0], record_id)
        return {"id": ids.to18(record_id), "success": True, "errors": []}

    return write


def _upsert(sobject: str, field_name: str) -> Response:
    records, all_or_none = _records_body()
    sandbox = state()
    with sandbox.org_lock:
        canonical = sandbox.org.describe(sobject)["name"]
    check_readable(records, lambda _record: canonical)
    with sandbox.org_lock:
        field_name = external_id_field(canonical, field_name)
        existing = {
            str(row.get(field_name)).lower(): row["Id"]
            for row in sandbox.org.rows(canonical, False)
            if row.get(field_name) is not None and not row.get("IsDeleted")
        }
    values = [_value_of(_fields_of(record), field_name) for record in records]
    repeated = Counter(str(value).lower() for value in values if value is not None)
    planned = []
    for record, value in zip(records, values, strict=True):
        fields = _fields_of(record)
        record_type = _record_type(record)
        existing_id = existing.get(str(value).lower()) if value is not None else None
        plan = _Planned(None, existing_id or lock_target(fields))
        if _pop_id(fields) is not None:
            plan.error = SalesforceError(
                "INVALID_FIELD", "Id may not be specified when upserting by an external ID", ["Id"]
            )
        elif record_type and record_type != canonical:
            plan.error = SalesforceError(
                "INVALID_TYPE", f"Every record must be of type {canonical}, got {record_type}"
            )
        elif value is None or value == "":
            plan.error = SalesforceError(
                "MISSING_ARGUMENT", f"{field_name} not specified", [field_name]
            )
        elif repeated[str(value).lower()] > 1:
            plan.error = SalesforceError(
                "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [field_name]
            )
        else:
            for key in [key for key in fields if key.lower() == field_name.lower()]:
                del fields[key]
            plan.write = _upsert_one(sandbox.org, canonical, field_name, value, fields)
        planned.append(plan)
    return _run(planned, all_or_none)


def _value_of(fields: dict, field_name: str) -> Any:
    for key, value in fields.items():
        if key.lower() == field_name.lower():
            return value
    return None


def _upsert_one(org: Any, sobject: str, field_name: str, value: Any, fields: dict) -> Write:
    def write() -> dict:
        try:
            record_id, created = org.upsert(sobject, field_name, value, fields)
        except SalesforceError as error:
            if error.status == 300:
                raise SalesforceError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field_name}: more than one record found for external id field",
                    [field_name],
                ) from error
            raise
        return {"id": record_id, "success": True, "errors": [], "created": created}

    return write


def _retrieve(sobject: str) -> Response:
    sandbox = state()
    if request.method == "POST":
        body = request_json()
        wanted, fields = body.get("ids") or [], body.get("fields") or []
    else:
        wanted = [item for item in request.args.get("ids", "").split(",") if item]
        fields = [item for item in request.args.get("fields", "").split(",") if item]
    if not wanted:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "At least 1 Id is required.")
    limit = 2000 if request.method == "POST" else MAX_COLLECTION_SIZE
    if len(wanted) > limit:
        raise _too_many(len(wanted))
    records: list[dict | None] = []
    with sandbox.org_lock:
        for record_id in wanted:
            try:
                record = sandbox.org.get(sobject, record_id, fields or None)
            except SalesforceError as error:
                if error.status != 404:
                    raise
                records.append(None)
            else:
                records.append(with_attributes(sobject, record, ids.to18(record_id)))
    sandbox.faults.sleep_for_records(len(records))
    return json_response(records)
