"""The replication resources: ``sobjects/{T}/updated/`` and ``sobjects/{T}/deleted/``.

Salesforce's "get updated / get deleted" calls take a ``start``/``end`` window (ISO 8601 with
a time zone) and ignore the seconds of both. The window may reach 30 days back at most, and
for deletes not before the object's ``earliestDateAvailable`` (the delete log was purged up to
there); ``start`` must precede ``end`` by more than a minute; an ``end`` in the future means
now. Only replicateable objects are served, and an answer holds at most 600,000 ids. Answers
are ``{"ids", "latestDateCovered"}`` and ``{"deletedRecords": [{"id", "deletedDate"}],
"earliestDateAvailable", "latestDateCovered"}``; ``latestDateCovered`` is the next ``start``.
The window takes its last minute whole (the seconds were ignored), so a caller that starts
again at ``latestDateCovered`` sees that minute's records twice, never not at all. Deleted
records stay listed after the Recycle Bin is emptied (recycle.py), until the window passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import Blueprint, Response, request

from sandboxes.salesforce.context import state
from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.org import Org
from sandboxes.salesforce.recycle import deleted_rows
from sandboxes.salesforce.schema import ObjectMeta
from sandboxes.salesforce.validation import format_datetime, parse_datetime
from sandboxes.salesforce.wire import json_response

#: How far back Salesforce keeps replication data.
WINDOW = timedelta(days=30)
MINUTE = timedelta(minutes=1)
#: Ids one answer may hold; more is EXCEEDED_ID_LIMIT (the caller narrows the window).
ID_LIMIT = 600_000
#: The time zone an ISO 8601 date must end with: ``Z``, ``+hh:mm`` or ``+hhmm``.
_ZONE = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def add_replication_routes(blueprint: Blueprint) -> None:
    """Register the two routes (before the record route, which would take "updated" as an id)."""
    blueprint.add_url_rule("/sobjects/<sobject>/updated/", view_func=_updated, methods=["GET"])
    blueprint.add_url_rule("/sobjects/<sobject>/deleted/", view_func=_deleted, methods=["GET"])


def _invalid(message: str) -> SalesforceError:
    return SalesforceError("INVALID_REPLICATION_DATE", message, status=400)


def _argument(name: str) -> datetime:
    """``start`` or ``end``, with its seconds dropped as Salesforce does."""
    text = request.args.get(name)
    if text is None:
        raise SalesforceError("MISSING_ARGUMENT", f"Missing argument: {name}Date", status=400)
    try:
        if not _ZONE.search(text.strip()):
            raise ValueError(text)
        moment = parse_datetime(text)
    except ValueError:
        raise _invalid(f"Invalid {name}Date: {text} (ISO 8601 with a time zone)") from None
    return moment.replace(second=0, microsecond=0)


def _replicateable(org: Org, sobject: str) -> ObjectMeta:
    meta = org.schema.get(sobject)
    if not meta.replicateable:
        raise SalesforceError(
            "INVALID_TYPE", f"sObject type '{meta.name}' is not replicateable", status=400
        )
    return meta


def _window(org: Org, earliest: datetime | None = None) -> tuple[datetime, datetime, datetime]:
    """(start, end, earliest start allowed): validated, in whole minutes, end at most now."""
    start, end = _argument("start"), _argument("end")
    now = org.now()
    floor = (now - WINDOW).replace(second=0, microsecond=0)
    end = min(end, now.replace(second=0, microsecond=0))
    if start < floor:
        raise _invalid("startDate cannot be more than 30 days ago")
    if earliest is not None and start < earliest:
        raise _invalid(
            f"startDate is before the earliest date available: {format_datetime(earliest)}"
        )
    if end - start <= MINUTE:
        raise _invalid("endDate must chronologically follow the startDate by more than a minute")
    return start, end, max(floor, earliest or floor)


def _covered(stamps: Iterable[tuple[str, str]], start: datetime, end: datetime) -> list[str]:
    """Ids whose stamp lies in [start, end + a minute): the last minute is taken whole."""
    found = sorted(
        (parse_datetime(stamp), record_id)
        for record_id, stamp in stamps
        if start <= parse_datetime(stamp) < end + MINUTE
    )
    if len(found) > ID_LIMIT:
        raise SalesforceError(
            "EXCEEDED_ID_LIMIT",
            f"More than {ID_LIMIT} ids were found: choose start and end dates closer together",
            status=400,
        )
    return [record_id for _, record_id in found]


def _updated(sobject: str) -> Response:
    sandbox = state()
    with sandbox.org_lock:
        org = sandbox.org
        meta = _replicateable(org, sobject)
        start, end, _ = _window(org)
        rows = [(row["Id"], row["SystemModstamp"]) for row in org.rows(meta.name)]
        ids = _covered(rows, start, end)
    return json_response({"ids": ids, "latestDateCovered": format_datetime(end)})


def _deleted(sobject: str) -> Response:
    sandbox = state()
    with sandbox.org_lock:
        org = sandbox.org
        meta = _replicateable(org, sobject)
        start, end, earliest = _window(org, org.delete_log.trimmed.get(meta.name))
        stamps = dict(deleted_rows(org, meta.name))
        ids = _covered(stamps.items(), start, end)
    return json_response({
        "deletedRecords": [{"id": record_id, "deletedDate": stamps[record_id]}
                           for record_id in ids],
        "earliestDateAvailable": format_datetime(earliest),
        "latestDateCovered": format_datetime(end),
    })
