"""The replication resources: ``sobjects/{T}/updated/`` and ``sobjects/{T}/deleted/``.

Salesforce's "get updated / get deleted" calls take a ``start``/``end`` window at most 30 days
back, work in whole minutes, and answer ids plus ``latestDateCovered`` (the next ``start``).
Syncline itself reads with ``queryAll`` (one call for both), but clients that replicate the
documented way must work against the sandbox too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, request

from sandboxes.salesforce.context import state
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.validation import format_datetime, parse_datetime
from sandboxes.salesforce.wire import json_response

#: How far back Salesforce keeps replication data.
WINDOW = timedelta(days=30)


def add_replication_routes(blueprint: Blueprint) -> None:
    """Register the two routes (before the record route, which would take "updated" as an id)."""
    blueprint.add_url_rule("/sobjects/<sobject>/updated/", view_func=_updated, methods=["GET"])
    blueprint.add_url_rule("/sobjects/<sobject>/deleted/", view_func=_deleted, methods=["GET"])


def _window() -> tuple[datetime, datetime, datetime]:
    """(start, end, earliest available), truncated to whole minutes as Salesforce does."""
    try:
        start = parse_datetime(request.args["start"])
        end = parse_datetime(request.args["end"])
    except KeyError as exc:
        raise SalesforceError(
            "MISSING_ARGUMENT", f"Missing argument: {exc.args[0]}Date", status=400
        ) from None
    except ValueError as exc:
        raise SalesforceError(
            "INVALID_REPLICATION_DATE", f"Invalid date: {exc.args[0]}", status=400
        ) from None
    now = state().org.now()
    earliest = (now - WINDOW).replace(second=0, microsecond=0)
    start = start.replace(second=0, microsecond=0)
    end = min(end, now).replace(second=0, microsecond=0)
    if start < earliest:
        raise SalesforceError(
            "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago", status=400
        )
    if end < start:
        raise SalesforceError(
            "INVALID_REPLICATION_DATE", "endDate must chronologically follow the startDate",
            status=400,
        )
    return start, end, earliest


def _rows(sobject: str, deleted: bool, start: datetime, end: datetime) -> list[dict]:
    sandbox = state()
    with sandbox.org_lock:
        rows = sandbox.org.rows(sobject, include_deleted=True)
    return [
        row for row in rows
        if bool(row["IsDeleted"]) == deleted
        and start <= parse_datetime(row["SystemModstamp"]) < end
    ]


def _updated(sobject: str) -> Response:
    start, end, _ = _window()
    ids = [row["Id"] for row in _rows(sobject, False, start, end)]
    return json_response({"ids": ids, "latestDateCovered": format_datetime(end)})


def _deleted(sobject: str) -> Response:
    start, end, earliest = _window()
    records = [
        {"id": row["Id"], "deletedDate": row["SystemModstamp"]}
        for row in _rows(sobject, True, start, end)
    ]
    return json_response({
        "deletedRecords": records,
        "earliestDateAvailable": format_datetime(earliest),
        "latestDateCovered": format_datetime(end),
    })
