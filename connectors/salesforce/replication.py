"""Records deleted for good, from ``sobjects/{T}/deleted/`` with a cursor of its own.

``queryAll`` shows a deleted record only while it sits in the Recycle Bin; once the bin is
emptied (by an admin, by Apex, after its retention) or the record was hard-deleted (Bulk API
``hardDelete``), only Salesforce's delete log still knows it. That log is read a window at a
time: whole minutes (seconds are ignored), at most 30 days back and not before the object's
``earliestDateAvailable``, the start more than a minute before the end. The answer's
``latestDateCovered`` is the next start, so the minute it names comes twice: callers take
repeats in their stride.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Cursor, HardDeletes
from connectors.errors import ConnectorError, ErrorKind
from connectors.salesforce.api import ReplicationApi
from connectors.salesforce.schema import cursor_of, parse_cursor, parse_datetime, soql_datetime

#: How far back Salesforce lists deletions.
WINDOW = timedelta(days=30)
#: Kept clear of the window's far end: the request must still fit when Salesforce checks it,
#: a little later and by a clock that may differ from ours.
MARGIN = timedelta(minutes=5)
#: Salesforce wants the start more than a minute before the end, in whole minutes.
MIN_SPAN = timedelta(minutes=2)
#: The start is before what Salesforce still lists (30 days, or a purged delete log).
INVALID_DATE = "INVALID_REPLICATION_DATE"
#: More than 600,000 ids in the window: ask for a shorter one.
TOO_MANY_IDS = "EXCEEDED_ID_LIMIT"


def read_deleted(
    connector: ReplicationApi, object_name: str, since: Cursor | None, now: datetime
) -> HardDeletes:
    """Ids deleted from ``since`` (None: as far back as listed) to ``now``, and the next cursor.

    A cursor older than what Salesforce still lists starts at the oldest listed minute and
    reports the stretch in between as the gap; a window with more ids than one answer holds
    is read in its first part, the rest left to the next call.
    """
    _check_replicateable(connector, object_name)
    end = _minute(now)
    floor = _minute(now - WINDOW) + MARGIN
    asked = parse_cursor(since) if since is not None else floor
    start = max(asked, floor)
    if end - start < MIN_SPAN:
        return HardDeletes((), since)  # nothing new can be listed yet: ask again later
    try:
        body = _read_within_limit(connector, object_name, start, end)
    except ConnectorError as exc:
        if exc.code != INVALID_DATE:
            raise
        # The object's delete log was purged past our start: begin where it begins now.
        earliest = _earliest_available(connector, object_name, end)
        if earliest is None or earliest <= start or end - earliest < MIN_SPAN:
            raise
        start = earliest
        body = _read_within_limit(connector, object_name, start, end)
    listed_from = max(start, _date(body.get("earliestDateAvailable")) or start)
    gap = (asked, listed_from) if since is not None and asked < listed_from else None
    keys = [str(row["id"]) for row in body.get("deletedRecords") or () if row.get("id")]
    covered = body.get("latestDateCovered")
    cursor = cursor_of(covered) if covered else soql_datetime(end)
    return HardDeletes(keys, cursor, gap)


def _read_within_limit(
    connector: ReplicationApi, object_name: str, start: datetime, end: datetime
) -> Mapping[str, Any]:
    """One window's answer; a window over the id limit is halved until one fits."""
    while True:
        try:
            return _get(connector, object_name, start, end)
        except ConnectorError as exc:
            half = _minute(start + (end - start) / 2)
            if exc.code != TOO_MANY_IDS or half - start < MIN_SPAN:
                raise
            end = half


def _earliest_available(
    connector: ReplicationApi, object_name: str, end: datetime
) -> datetime | None:
    """The object's ``earliestDateAvailable``, from the shortest window Salesforce accepts."""
    try:
        body = _get(connector, object_name, end - MIN_SPAN, end)
    except ConnectorError as exc:
        if exc.code == INVALID_DATE:
            return None
        raise
    earliest = _date(body.get("earliestDateAvailable"))
    if earliest is None:
        return None
    # A start in whole minutes at or after it: the seconds of a start are ignored.
    return earliest if _minute(earliest) == earliest else _minute(earliest) + timedelta(minutes=1)


def _get(
    connector: ReplicationApi, object_name: str, start: datetime, end: datetime
) -> Mapping[str, Any]:
    params = {"start": _iso(start), "end": _iso(end)}
    body = connector.transport.call(
        lambda sf: sf.restful(f"sobjects/{object_name}/deleted/", params=params))
    return body if isinstance(body, Mapping) else {}


def _check_replicateable(connector: ReplicationApi, object_name: str) -> None:
    connector.object_info(object_name)  # unknown object → CONFIG (from the shared describe)
    if connector.raw_describe(object_name).get("replicateable", True):
        return
    raise ConnectorError(
        ErrorKind.CONFIG,
        f"Salesforce does not list deleted records of {object_name} (it is not replicateable), "
        "so records deleted there for good cannot be found",
        code="NOT_REPLICATEABLE",
        hint="set this mapping's deletes.from_remote to ignore (deletes still in the Recycle "
        "Bin are then ignored too), or sync an object Salesforce replicates",
    )


def _minute(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _iso(moment: datetime) -> str:
    """ISO 8601 with its time zone, as the resource wants it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _date(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        return None
