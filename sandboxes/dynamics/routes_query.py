"""Collection reads: ``$select/$filter/$orderby/$top/$count``, paging cookies, change tracking."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, request

from sandboxes.dynamics.context import state
from sandboxes.dynamics.errors import (
    CHANGE_TRACKING_QUERY,
    QUERY_ERROR,
    DataverseError,
    change_tracking_not_enabled,
    expired_version_stamp,
)
from sandboxes.dynamics.metadata import EntityMeta
from sandboxes.dynamics.odata import parse_count, parse_filter, parse_orderby, parse_top
from sandboxes.dynamics.resources import (
    context_suffix,
    include_annotations,
    parse_select,
    preferences,
    render_row,
)
from sandboxes.dynamics.wire import API_ROOT, base_url, json_response

MAX_PAGE_SIZE = 5000
MAX_COUNT = 5000
#: Organization.ExpireChangeTrackingInDays default.
DELTA_TOKEN_LIFETIME_DAYS = 7
_DELTA_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
_COOKIE = re.compile(r'pagingcookie="(?P<cookie>[^"]*)"')
#: Query options that change tracking refuses, in the order Dataverse checks them.
_TRACKING_REFUSED = ("$filter", "$orderby", "$expand", "$top")
#: Characters left readable in the query options echoed into next and delta links.
_READABLE = "$,'()=:@/"


def _page_size() -> tuple[int, bool]:
    """The page size asked for with ``Prefer: odata.maxpagesize`` (and whether it was)."""
    raw = preferences().get("odata.maxpagesize")
    if raw is None:
        return MAX_PAGE_SIZE, False
    try:
        size = int(raw)
    except ValueError as error:
        raise DataverseError(QUERY_ERROR, f"Invalid odata.maxpagesize value: {raw}") from error
    if size < 1:
        raise DataverseError(QUERY_ERROR, f"Invalid odata.maxpagesize value: {raw}")
    return min(size, MAX_PAGE_SIZE), True


def _now() -> datetime:
    return state().clock()


def _encode_cookie(data: dict[str, Any], page_number: int, tracking: bool) -> str:
    packed = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    return (
        f'<cookie pagenumber="{page_number}" pagingcookie="{packed}" '
        f'istracking="{"True" if tracking else "False"}" />'
    )


def _decode_cookie(token: str) -> dict[str, Any]:
    match = _COOKIE.search(token)
    try:
        if match is None:
            raise ValueError("no pagingcookie")
        data = json.loads(base64.urlsafe_b64decode(match["cookie"].encode()))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except ValueError as error:
        raise DataverseError(QUERY_ERROR, "The $skiptoken value is not valid.") from error


def _link(extra: dict[str, str]) -> str:
    """The current request URL with ``$skiptoken``/``$deltatoken`` replaced by ``extra``."""
    parts = [
        f"{name}={quote(value, safe=_READABLE)}"
        for name, value in request.args.items(multi=True)
        if name not in ("$skiptoken", "$deltatoken")
    ]
    parts += [f"{name}={quote(value, safe='')}" for name, value in extra.items()]
    resource = request.path.split(API_ROOT, 1)[-1]
    return f"{base_url()}{resource}?" + "&".join(parts)


def _check_common_options() -> None:
    if "$skip" in request.args:
        raise DataverseError(QUERY_ERROR, "The query parameter $skip is not supported")


def _check_tracking_options() -> None:
    for option in _TRACKING_REFUSED:
        if option in request.args:
            raise DataverseError(
                CHANGE_TRACKING_QUERY,
                f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.',
            )


def _matching_rows(entity: EntityMeta) -> list[dict]:
    """Live rows passing ``$filter``, ordered by ``$orderby`` (else by primary key)."""
    filter_text = request.args.get("$filter")
    predicate = parse_filter(filter_text, entity) if filter_text else None
    rows = state().env.rows(entity.logical_name, where=predicate)
    rows = sorted(rows, key=lambda row: row[entity.primary_id])
    orderby_text = request.args.get("$orderby")
    if orderby_text:
        rows = parse_orderby(orderby_text, entity)(rows)
    return rows


def collection(entity: EntityMeta) -> Response:
    """``GET /leads``: a page of rows, ``@odata.nextLink``; deltas with change tracking."""
    _check_common_options()
    prefs = preferences()
    tracking = "odata.track-changes" in prefs or "$deltatoken" in request.args
    if tracking:
        _check_tracking_options()
    if "$expand" in request.args:
        # Dataverse supports it; the sandbox does not, and says so rather than ignore it.
        raise DataverseError(QUERY_ERROR, "The sandbox does not support $expand on entity sets.")
    select = parse_select(entity, request.args.get("$select"))
    page_size, size_asked = _page_size()
    sandbox = state()
    with sandbox.env_lock:
        if "$deltatoken" in request.args:
            body = _delta_page(entity, select, page_size)
        elif tracking:
            body = _tracking_page(entity, select, page_size)
        else:
            body = _query_page(entity, select, page_size, size_asked)
    sandbox.faults.sleep_for_records(len(body["value"]))
    applied = []
    if size_asked:
        applied.append(f"odata.maxpagesize={page_size}")
    if tracking:
        applied.append("odata.track-changes")
    if include_annotations():
        applied.append('odata.include-annotations="*"')
    return json_response(body, 200, {"Preference-Applied": ",".join(applied)} if applied else None)


def _rendered(entity: EntityMeta, rows: list[dict], select: list[str] | None) -> list[dict]:
    annotations = include_annotations()
    return [render_row(entity, row, select, annotations=annotations) for row in rows]


def _query_page(
    entity: EntityMeta, select: list[str] | None, page_size: int, size_asked: bool
) -> dict:
    rows = _matching_rows(entity)
    total = len(rows)
    top_text = request.args.get("$top")
    if top_text is not None and not size_asked:
        # `$top` is ignored when a page size is asked for (Dataverse docs, page-results.md).
        rows = rows[: parse_top(top_text)]
    cookie = _decode_cookie(request.args["$skiptoken"]) if "$skiptoken" in request.args else {}
    offset = int(cookie.get("offset", 0))
    page_number = int(cookie.get("page", 1))
    if "last" in cookie:
        # Primary-key order: continue after the last key, so inserts and deletes between
        # pages neither repeat nor skip rows (what Dataverse's paging cookie does).
        rows = [row for row in rows if row[entity.primary_id] > cookie["last"]]
        offset = 0
    page = rows[offset : offset + page_size]
    body: dict[str, Any] = {
        "@odata.context": f"{base_url()}/$metadata#{context_suffix(entity, select)}"
    }
    if parse_count(request.args.get("$count", "false")):
        body["@odata.count"] = min(total, MAX_COUNT)
    body["value"] = _rendered(entity, page, select)
    if len(rows) > offset + page_size:
        next_cookie: dict[str, Any] = {"page": page_number + 1}
        if request.args.get("$orderby"):
            next_cookie["offset"] = offset + page_size
        else:
            next_cookie["last"] = page[-1][entity.primary_id]
        body["@odata.nextLink"] = _link(
            {"$skiptoken": _encode_cookie(next_cookie, page_number + 1, False)}
        )
    return body


def _delta_token(version: int) -> str:
    return f"{version}!{_now().strftime(_DELTA_TIME_FORMAT)}"


def _tracking_page(entity: EntityMeta, select: list[str] | None, page_size: int) -> dict:
    """The initial change-tracking read: every live row, the delta link on the last page."""
    _require_change_tracking(entity)
    env = state().env
    cookie = _decode_cookie(request.args["$skiptoken"]) if "$skiptoken" in request.args else {}
    page_number = int(cookie.get("page", 1))
    # The version when the initial read began: changes made while paging show up in the
    # next delta (possibly twice, which a sync tolerates) instead of being lost.
    snapshot = int(cookie["snapshot"]) if "snapshot" in cookie else env.version
    rows = sorted(env.rows(entity.logical_name), key=lambda row: row[entity.primary_id])
    if "last" in cookie:
        rows = [row for row in rows if row[entity.primary_id] > cookie["last"]]
    page = rows[:page_size]
    body: dict[str, Any] = {
        "@odata.context": f"{base_url()}/$metadata#{context_suffix(entity, select)}",
        "value": _rendered(entity, page, select),
    }
    if len(rows) > page_size:
        next_cookie = {"page": page_number + 1, "last": page[-1][entity.primary_id],
                       "snapshot": snapshot}
        body["@odata.nextLink"] = _link(
            {"$skiptoken": _encode_cookie(next_cookie, page_number + 1, True)}
        )
    else:
        body["@odata.deltaLink"] = _link({"$deltatoken": _delta_token(snapshot)})
    return body


def _require_change_tracking(entity: EntityMeta) -> None:
    if not entity.change_tracking:
        raise change_tracking_not_enabled(entity.logical_name)


def _parse_delta_token(token: str) -> int:
    # Every token the environment cannot honour (expired, from before a reset, from another
    # environment, unreadable) gets the documented ExpiredVersionStamp answer: the remedy,
    # a full sync, is the same for all of them.
    version_text, separator, stamp = token.partition("!")
    try:
        version = int(version_text)
        issued = datetime.strptime(stamp, _DELTA_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as error:
        raise expired_version_stamp() from error
    # A version the environment has not reached comes from another environment (or one
    # reset since); the Environment itself refuses versions from before its last reset.
    if not separator or version > state().env.version:
        raise expired_version_stamp()
    if _now() - issued > timedelta(days=DELTA_TOKEN_LIFETIME_DAYS):
        raise expired_version_stamp()
    return version


def _delta_page(entity: EntityMeta, select: list[str] | None, page_size: int) -> dict:
    """Rows changed since the delta token (new/updated first, then deletions), paged."""
    _require_change_tracking(entity)
    env = state().env
    cookie = _decode_cookie(request.args["$skiptoken"]) if "$skiptoken" in request.args else {}
    since = _parse_delta_token(request.args["$deltatoken"])
    changed, deleted, current = env.changes_since(entity.logical_name, since)
    upto = int(cookie.get("upto", current))
    # Oldest change first. Each page continues after the last item of the previous one:
    # changed rows by version (a row changed again meanwhile moves behind, not lost), then
    # deletions by position (the tombstone list only grows at its end).
    if cookie.get("phase") == "deleted":
        changed = []
        deleted = deleted[int(cookie["last"]) :]
    elif "last" in cookie:
        changed = [row for row in changed if row["versionnumber"] > int(cookie["last"])]
    items: list[tuple[str, Any]] = [("changed", row) for row in changed] + [
        ("deleted", guid) for guid in deleted
    ]
    page = items[:page_size]
    context = f"{base_url()}/$metadata#{entity.entity_set}/$deletedEntity"
    value: list[dict] = []
    annotations = include_annotations()
    for kind, item in page:
        if kind == "changed":
            value.append(render_row(entity, item, select, annotations=annotations))
        else:
            value.append({"@odata.context": context, "id": item, "reason": "deleted"})
    body: dict[str, Any] = {
        "@odata.context": f"{base_url()}/$metadata#{context_suffix(entity, select)}/$delta",
        "value": value,
    }
    page_number = int(cookie.get("page", 1))
    if len(items) > page_size:
        kind, item = page[-1]
        if kind == "changed":
            last = item["versionnumber"]
        else:
            already = int(cookie["last"]) if cookie.get("phase") == "deleted" else 0
            last = already + sum(1 for page_kind, _ in page if page_kind == "deleted")
        next_cookie = {"page": page_number + 1, "phase": kind, "last": last, "upto": upto}
        body["@odata.nextLink"] = _link(
            {"$skiptoken": _encode_cookie(next_cookie, page_number + 1, True),
             "$deltatoken": request.args["$deltatoken"]}
        )
    else:
        body["@odata.deltaLink"] = _link({"$deltatoken": _delta_token(upto)})
    return body


def count(entity: EntityMeta) -> Response:
    """``GET /leads/$count``: the number of live rows (capped at 5,000) as plain text."""
    with state().env_lock:
        if "$deltatoken" in request.args:
            since = _parse_delta_token(request.args["$deltatoken"])
            changed, deleted, _ = state().env.changes_since(entity.logical_name, since)
            total = len(changed) + len(deleted)
        else:
            total = len(_matching_rows(entity))
    return Response(str(min(total, MAX_COUNT)), mimetype="text/plain")
