"""REST data routes: resource map, limits, query/queryAll paging, sObject describe and CRUD."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request

from sandboxes.salesforce.context import state
from sandboxes.salesforce.deserialize import check_json_records
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.faults import lock_error
from sandboxes.salesforce.ids import to18
from sandboxes.salesforce.routes_replication import add_replication_routes
from sandboxes.salesforce.schema import find_field
from sandboxes.salesforce.soql import execute, parse
from sandboxes.salesforce.wire import api_version_number, json_response, no_content, request_json

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2000
#: From API 46.0 an upsert that updates answers 200 with a body (before: 204, no body).
UPSERT_BODY_SINCE = 46.0


def data_blueprint() -> Blueprint:
    """The routes under ``/services/data/vXX.X/`` (the version is checked for every route)."""
    blueprint = Blueprint("data", __name__)
    blueprint.url_value_preprocessor(_pop_version)

    blueprint.add_url_rule("/", view_func=_resources, methods=["GET"])
    blueprint.add_url_rule("/limits/", view_func=_limits, methods=["GET"])
    for name in ("query", "queryAll"):
        blueprint.add_url_rule(f"/{name}/", f"{name}_start", _query_start, methods=["GET"])
        blueprint.add_url_rule(f"/{name}/<locator>", f"{name}_more", _query_more, methods=["GET"])
    blueprint.add_url_rule("/sobjects/", view_func=_describe_global, methods=["GET"])
    blueprint.add_url_rule("/sobjects/<sobject>/", view_func=_sobject_root, methods=["GET", "POST"])
    blueprint.add_url_rule("/sobjects/<sobject>/describe/", view_func=_describe, methods=["GET"])
    add_replication_routes(blueprint)
    blueprint.add_url_rule(
        "/sobjects/<sobject>/<record_id>/",
        view_func=_record,
        methods=["GET", "PATCH", "DELETE"],
    )
    blueprint.add_url_rule(
        "/sobjects/<sobject>/<field_name>/<path:value>",
        view_func=_by_external_id,
        methods=["GET", "PATCH"],
    )
    return blueprint


def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    version = (values or {}).pop("version", None)
    if version not in state().api_versions:
        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
    g.api_version = version


def record_url(sobject: str, record_id: str) -> str:
    """The ``attributes.url`` of a record at the request's API version."""
    return f"/services/data/v{g.api_version}/sobjects/{sobject}/{record_id}"


def with_attributes(sobject: str, record: dict, record_id: str | None = None) -> dict:
    """``record`` with Salesforce's leading ``attributes`` object."""
    url = record_url(sobject, record_id or record["Id"])
    body = {"attributes": {"type": sobject, "url": url}}
    body.update((key, value) for key, value in record.items() if key != "attributes")
    return body


def lock_check(record_ids: list[str]) -> list[SalesforceError | None]:
    """Per written record: the UNABLE_TO_LOCK_ROW error it suffers, or None.

    A pending "lock" injection locks every record of the call; otherwise ``lock_rate`` is
    rolled per record.
    """
    faults = state().faults
    whole_call = faults.lock_whole_call()
    return [
        lock_error(record_id) if whole_call or faults.record_locked() else None
        for record_id in record_ids
    ]


def lock_target(record: dict) -> str:
    """The row a write would lock: the record itself, else its owner (the parent row)."""
    return record.get("Id") or record.get("OwnerId") or state().org.default_owner_id


# -- versions, limits ---------------------------------------------------------------------


def check_readable(records: list[dict], type_of: Any) -> None:
    """The request's JSON records read as their fields' types, or the whole request refused.

    ``type_of(record)`` names a record's sObject (None when it has none: it fails alone later).
    """
    schema = state().org.schema
    raw = request.get_data(cache=True, as_text=True)
    check_json_records(lambda record: schema.find(type_of(record) or ""), records, raw)


def _resources() -> Response:
    base = f"/services/data/v{g.api_version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
    return json_response({name: f"{base}/{name}" for name in names})


def _limits() -> Response:
    return json_response(state().limits.limits_body())


# -- query --------------------------------------------------------------------------------


def _batch_size() -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    for option in options.split(","):
        name, _, value = option.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(value.strip())))
    return DEFAULT_BATCH_SIZE


def _query_start() -> Response:
    sandbox = state()
    text = request.args.get("q")
    if text is None or not text.strip():
        raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified")
    include_deleted = request.path.rstrip("/").endswith("queryAll")
    query = parse(text)
    with sandbox.org_lock:
        result = execute(query, sandbox.org, include_deleted=include_deleted, version=g.api_version)
    records = list(result.records)
    batch_size = _batch_size()
    locator = sandbox.cursors.open(records, batch_size) if len(records) > batch_size else None
    return _page(records, 0, batch_size, result.total_size, locator)


def _query_more(locator: str) -> Response:
    cursor_id, _, offset_text = locator.partition("-")
    cursor = state().cursors.get(cursor_id)
    offset = int(offset_text) if offset_text.isdigit() else 0
    return _page(cursor.records, offset, cursor.batch_size, len(cursor.records), cursor_id)


def _page(
    records: list[dict], offset: int, batch_size: int, total_size: int, locator: str | None
) -> Response:
    page = records[offset : offset + batch_size]
    state().faults.sleep_for_records(len(page))
    body: dict[str, Any] = {"totalSize": total_size, "done": True}
    next_offset = offset + batch_size
    if locator is not None and next_offset < len(records):
        body["done"] = False
        body["nextRecordsUrl"] = f"/services/data/v{g.api_version}/query/{locator}-{next_offset}"
    body["records"] = page
    return json_response(body)


# -- describe -----------------------------------------------------------------------------


def _describe_global() -> Response:
    return json_response(state().org.describe_global())


def _describe(sobject: str) -> Response:
    return json_response(state().org.describe(sobject))


def describe_field(sobject: str, field_name: str) -> dict | None:
    """The describe entry of ``field_name`` on ``sobject`` (case-insensitive), or None."""
    return find_field(state().org.describe(sobject), field_name)


# -- sObject rows -------------------------------------------------------------------------


def _sobject_root(sobject: str) -> Response:
    sandbox = state()
    if request.method == "GET":
        describe = sandbox.org.describe(sobject)
        summary = next(
            (
                entry
                for entry in sandbox.org.describe_global()["sobjects"]
                if entry["name"] == describe["name"]
            ),
            {"name": describe["name"]},
        )
        return json_response({"objectDescribe": summary, "recentItems": []})
    fields = request_json()
    sandbox.org.describe(sobject)  # unknown object: 404 before anything else
    check_readable([fields], lambda _record: sobject)
    if any(key.lower() == "id" for key in fields):
        raise SalesforceError(
            "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
        )
    sandbox.faults.sleep_for_records(1)
    (locked,) = lock_check([lock_target(fields)])
    if locked is not None:
        raise locked
    with sandbox.org_lock:
        record_id = sandbox.org.insert(sobject, _without_attributes(fields))
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


def _record(sobject: str, record_id: str) -> Response:
    sandbox = state()
    if request.method == "GET":
        fields = _fields_param()
        with sandbox.org_lock:
            record = sandbox.org.get(sobject, record_id, fields)
        return json_response(with_attributes(sobject, record, to18(record_id)))
    if request.method == "PATCH":
        fields = request_json()
        check_readable([fields], lambda _record: sobject)
        if any(key.lower() == "id" for key in fields):
            raise SalesforceError(
                "INVALID_FIELD", "The Id field should not be specified in the sobject data."
            )
        sandbox.faults.sleep_for_records(1)
        (locked,) = lock_check([record_id])
        if locked is not None:
            raise locked
        with sandbox.org_lock:
            sandbox.org.update(sobject, record_id, _without_attributes(fields))
        return no_content()
    sandbox.faults.sleep_for_records(1)
    (locked,) = lock_check([record_id])
    if locked is not None:
        raise locked
    with sandbox.org_lock:
        sandbox.org.delete(sobject, record_id)
    return no_content()


def _fields_param() -> list[str] | None:
    raw = request.args.get("fields")
    if not raw:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def _without_attributes(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if key != "attributes"}


def external_id_field(sobject: str, field_name: str) -> str:
    """The canonical name of an external-id (or Id) field, or 404 like Salesforce."""
    entry = describe_field(sobject, field_name)
    if entry is None or not (entry["name"] == "Id" or entry.get("externalId")):
        raise SalesforceError(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name}",
            status=404,
        )
    return entry["name"]


def matching_ids(sobject: str, field_name: str, value: Any) -> list[str]:
    """Ids of live records whose external-id ``field_name`` equals ``value``."""
    return state().org.match_ids(sobject, field_name, value)


def multiple_records_response(sobject: str, ids: list[str]) -> Response:
    """300 Multiple Choices: the URLs of every matching record."""
    return json_response([record_url(sobject, record_id) for record_id in ids], 300)


def _by_external_id(sobject: str, field_name: str, value: str) -> Response:
    sandbox = state()
    # Flask has already percent-decoded the path; a trailing slash is not part of the value.
    value = value.rstrip("/")
    with sandbox.org_lock:
        field_name = external_id_field(sobject, field_name)
        matches = matching_ids(sobject, field_name, value)
        if request.method == "GET":
            if not matches:
                raise SalesforceError(
                    "NOT_FOUND", "The requested resource does not exist", status=404
                )
            if len(matches) > 1:
                return multiple_records_response(sobject, matches)
            record = sandbox.org.get(sobject, matches[0], _fields_param())
            return json_response(with_attributes(sobject, record, matches[0]))
    fields = _without_attributes(request_json())
    check_readable([fields], lambda _record: sobject)
    if any(key.lower() == "id" for key in fields) and field_name != "Id":
        raise SalesforceError(
            "INVALID_FIELD", "The Id field should not be specified in the sobject data."
        )
    if field_name in fields and str(fields[field_name]) != value:
        raise SalesforceError(
            "INVALID_FIELD",
            f"The value of {field_name} in the sobject data does not match the external ID "
            f"in the URL: {value}",
            [field_name],
        )
    fields.pop(field_name, None)
    if request.args.get("updateOnly", "").lower() == "true" and not matches:
        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
    if len(matches) > 1:
        return multiple_records_response(sobject, matches)
    sandbox.faults.sleep_for_records(1)
    (locked,) = lock_check([matches[0] if matches else lock_target(fields)])
    if locked is not None:
        raise locked
    with sandbox.org_lock:
        try:
            record_id, created = sandbox.org.upsert(sobject, field_name, value, fields)
        except SalesforceError as error:
            if error.status == 300:
                return multiple_records_response(sobject, matching_ids(sobject, field_name, value))
            raise
    body = {"id": record_id, "success": True, "errors": [], "created": created}
    if created:
        return json_response(body, 201)
    if api_version_number() < UPSERT_BODY_SINCE:
        return no_content()
    return json_response(body, 200)
