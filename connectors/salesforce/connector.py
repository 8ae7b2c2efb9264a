"""The Salesforce connector (``type: salesforce``): REST reads, Collections and Bulk 2.0 writes."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from simple_salesforce import Salesforce

from connectors.base import (
    ApiUsage,
    Capabilities,
    Change,
    Connector,
    Cursor,
    HardDeletes,
    ObjectInfo,
    Op,
    OutboundRecord,
    Page,
    WriteCost,
    WriteResult,
)
from connectors.config import register_secrets
from connectors.errors import ConnectorError, ErrorKind
from connectors.filters import Filter, filter_fields
from connectors.retry import RetryPolicy
from connectors.salesforce.bulk import BULK_JOB_CALLS
from connectors.salesforce.replication import read_deleted
from connectors.salesforce.schema import (
    CURSOR_FIELD,
    KEY_FIELD,
    cursor_of,
    in_lists,
    object_info,
    parse_cursor,
    parse_datetime,
    soql_datetime,
)
from connectors.salesforce.settings import SECRET_KEYS, SalesforceConnection, SalesforceSettings
from connectors.salesforce.transport import Transport
from connectors.salesforce.where import feed_condition
from connectors.salesforce.writes import Writer
from core.redaction import redact

#: Values per lookup query, and a SOQL length kept far below Salesforce's 100,000 characters.
#: Connectors live for one cycle, but an org's schema rarely changes: sharing describe results
#: in the process keeps an idle cycle at one API call per object (the read), not two.
DESCRIBE_TTL = 600.0
_DESCRIBE_CACHE: dict[tuple[str, str | None, str, str], tuple[float, dict[str, Any]]] = {}


def forget_describes() -> None:
    """Drop the shared describe results (after a schema change; tests start from scratch)."""
    _DESCRIBE_CACHE.clear()


#: Values per lookup query at most; the URI limit (schema.IN_LIST_BYTES) usually binds first.
LOOKUP_CHUNK = 1000
#: Compound and binary fields: not useful to sync and awkward in SOQL (nested or huge).
_UNSELECTED_TYPES = frozenset({"address", "location", "base64"})


class SalesforceConnector(Connector):
    """Salesforce through its REST API, with simple-salesforce as the transport.

    Reads: ``queryAll`` ordered by SystemModstamp, Id — updates and deletes in one feed, the
    cursor is the last SystemModstamp of a page (inclusive). Writes: sObject Collections
    (``max_batch_size`` per call), Bulk API 2.0 from ``bulk_threshold`` records of one
    operation. Converted leads and merged records carry a ``successor``. Records deleted for
    good (past the Recycle Bin) come from ``sobjects/{T}/deleted/`` (``read_hard_deletes``).
    """

    type_name = "salesforce"
    # SystemModstamp has whole seconds: edits in one second share a version (row_versions).
    capabilities = Capabilities(max_batch_size=200, lookup_batch_size=LOOKUP_CHUNK,
                                row_versions=False, hard_deletes=True)
    secret_keys = SECRET_KEYS
    settings_model = SalesforceConnection

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        super().__init__(name, config)
        # Registered here too, so a connector built in code (tests, the demo) is as safe as
        # one read from the connections file.
        register_secrets(config, SECRET_KEYS)
        if config.get("password") and config.get("security_token"):
            # The password grant sends the two as one value (auth.token_form).
            redact.add([f"{config['password']}{config['security_token']}"])
        self.settings = SalesforceSettings.parse(name, config)
        self.page_size = self.settings.page_size
        self.max_batch_size = self.settings.max_batch_size
        self.bulk_threshold = self.settings.bulk_threshold
        self.bulk_poll_seconds = self.settings.bulk_poll_seconds
        #: Share of the daily API allowance a sync may use before the engine pauses it.
        self.api_budget: float | None = self.settings.api_budget
        self.capabilities = replace(  # type: ignore[misc]
            type(self).capabilities, max_batch_size=self.max_batch_size)
        self.transport = Transport(
            self.settings.credentials,
            api_version=self.settings.api_version,
            retry=self.settings.retry,
            on_call=self._count_call,
        )
        self._described: dict[str, ObjectInfo] = {}
        self._raw_describe: dict[str, dict[str, Any]] = {}
        self.writer = Writer(self)

    def _count_call(self) -> None:
        self.api_calls += 1

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every call (tests replace it to record waits instead of sleeping)."""
        return self.transport.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.transport.retry = policy

    # -- the interface ----------------------------------------------------------------------

    def write_cost(self, records: int) -> WriteCost:
        """Collections calls of ``max_batch_size``, or one Bulk 2.0 job from ``bulk_threshold``."""
        if records >= self.bulk_threshold:
            return WriteCost(BULK_JOB_CALLS, bulk_jobs=1)
        return super().write_cost(records)

    def check(self) -> None:
        """GET /limits: cheap, authenticated, and it refreshes ``usage()``."""
        limits = self.transport.call(lambda sf: sf.limits())
        if isinstance(limits, dict):
            self.transport.record_limits(limits)

    def describe(self, objects: Sequence[str] | None = None) -> dict[str, ObjectInfo]:
        """Objects' fields from ``sobjects/{T}/describe`` (cached); unknown object → CONFIG."""
        names = list(objects) if objects is not None else self._all_objects()
        return {name: self.object_info(name) for name in names}

    def _all_objects(self) -> list[str]:
        # Every queryable object we could write; a real org has hundreds, each one describe
        # call (cached afterwards) — callers that know their objects should name them.
        listing = self.transport.call(lambda sf: sf.describe()) or {}
        return [o["name"] for o in listing.get("sobjects", [])
                if o.get("queryable") and o.get("createable")]

    def object_info(self, object_name: str) -> ObjectInfo:
        """One object's description: fetched once per process and org, for DESCRIBE_TTL."""
        if object_name not in self._described:
            credentials = self.settings.credentials
            key = (credentials.login_url, credentials.username or credentials.client_id,
                   self.settings.api_version, object_name)
            cached = _DESCRIBE_CACHE.get(key)
            if cached is not None and time.monotonic() - cached[0] < DESCRIBE_TTL:
                raw = cached[1]
            else:
                raw = self._fetch_describe(object_name)
                _DESCRIBE_CACHE[key] = (time.monotonic(), raw)
            self._raw_describe[object_name] = raw
            self._described[object_name] = object_info(raw)
        return self._described[object_name]

    def raw_describe(self, object_name: str) -> dict[str, Any]:
        """The object's describe JSON as Salesforce sent it (fetched as ``object_info`` does)."""
        self.object_info(object_name)
        return self._raw_describe[object_name]

    def _fetch_describe(self, object_name: str) -> dict[str, Any]:
        if not object_name.replace("_", "").isalnum():
            raise _unknown_object(object_name)
        try:
            raw = self.transport.call(
                lambda sf: sf.restful(f"sobjects/{object_name}/describe"))
        except ConnectorError as exc:
            if exc.kind is ErrorKind.NOT_FOUND or exc.code in ("NOT_FOUND", "INVALID_TYPE"):
                raise _unknown_object(object_name) from None
            raise
        if not isinstance(raw, dict) or "fields" not in raw:
            raise _unknown_object(object_name)
        return raw

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        """Pages of upserts and deletes with SystemModstamp >= ``since``, one per query page.

        ``where`` goes into the query's WHERE, beside the cursor: records failing it are
        never sent, except deletes and converted Leads (``feed_condition``).
        """
        start = parse_cursor(since) if since is not None else None
        info = self.object_info(object_name)
        wanted = self._wanted(info, fields)
        selected = self._with_feed_fields(info, wanted)
        conditions = []
        if start is not None:
            conditions.append(f"{CURSOR_FIELD} >= {soql_datetime(start)}")
        if where is not None:
            condition = self.where_text(object_name, where)
            conditions.append(f"({condition})" if conditions else condition)
        soql = f"SELECT {', '.join(selected)} FROM {object_name}"
        if conditions:
            soql += " WHERE " + " AND ".join(conditions)
        soql += f" ORDER BY {CURSOR_FIELD}, {KEY_FIELD}"
        return self._pages(object_name, soql, set(wanted))

    def where_text(self, object_name: str, where: Filter) -> str:
        """The SOQL condition a change read adds for ``where`` (deletes always come)."""
        known = set(self.object_info(object_name).fields)
        unknown = sorted(filter_fields(where) - known)
        if unknown:
            raise _unknown_field(object_name, unknown[0])
        return feed_condition(where, known, object_name)

    def _pages(self, object_name: str, soql: str, wanted: set[str]) -> Iterator[Page]:
        for result in self.query_pages(soql, include_deleted=True):
            records = result.get("records") or []
            if records:
                changes = [self._change(object_name, row, wanted) for row in records]
                yield Page(changes, cursor_of(records[-1][CURSOR_FIELD]))

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """A query's result pages, fetched lazily, one counted call each."""
        headers = {"Sforce-Query-Options": f"batchSize={self.page_size}"}
        result = self.transport.call(
            lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers))
        while True:
            yield result
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self.transport.call(
                lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True,
                                                       headers=headers))

    def query_rows(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every live row a query returns (all pages)."""
        for result in self.query_pages(soql):
            yield from result.get("records") or []

    def read_hard_deletes(
        self, object_name: str, since: Cursor | None, *, now: datetime | None = None
    ) -> HardDeletes:
        """Records deleted for good (emptied from the Recycle Bin, hard-deleted) since ``since``.

        From ``sobjects/{T}/deleted/``, one call a window (see replication.py): the cursor is
        Salesforce's ``latestDateCovered``, kept apart from ``read_changes``'s.
        """
        return read_deleted(self, object_name, since, now or datetime.now(UTC))

    def lookup_deleted(self, object_name: str, keys: Sequence[str]) -> list[Change]:
        """What ``queryAll`` still has of these ids: deletes in the Recycle Bin, live records.

        A merged record in the bin keeps its ``MasterRecordId`` here, which the deleted list
        does not carry; an id ``queryAll`` no longer returns was deleted for good.
        """
        info = self.object_info(object_name)
        selected = self._with_feed_fields(info, [KEY_FIELD])
        found: dict[str, Change] = {}
        for chunk in in_lists(keys, max_items=LOOKUP_CHUNK):
            soql = (f"SELECT {', '.join(selected)} FROM {object_name} "
                    f"WHERE {KEY_FIELD} IN ({', '.join(chunk)})")
            for result in self.query_pages(soql, include_deleted=True):
                for row in result.get("records") or []:
                    change = self._change(object_name, row, {KEY_FIELD})
                    found.setdefault(change.key, change)
        return list(found.values())

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Live records whose field equals one of ``values`` (SOQL compares text ignoring case)."""
        info = self.object_info(object_name)
        if field_name not in info.fields:
            raise _unknown_field(object_name, field_name)
        wanted = self._wanted(info, fields)
        selected = self._with_feed_fields(info, wanted)
        # Matching must never link to a converted lead: it is read-only, its Contact lives on.
        converted = " AND IsConverted = false" if object_name == "Lead" else ""
        found: dict[str, Change] = {}
        for chunk in in_lists((v for v in values if v is not None), max_items=LOOKUP_CHUNK):
            soql = (f"SELECT {', '.join(selected)} FROM {object_name} "
                    f"WHERE {field_name} IN ({', '.join(chunk)}){converted}")
            for row in self.query_rows(soql):
                change = self._change(object_name, row, set(wanted))
                found.setdefault(change.key, change)
        return list(found.values())

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """Deletes, updates, upserts and creates; one result per input, in input order."""
        return self.writer.write(object_name, records)

    def usage(self) -> ApiUsage | None:
        """The daily API usage from the last response's ``Sforce-Limit-Info`` (no extra call)."""
        return self.transport.last_usage

    def ui_url(self, object_name: str, key: str) -> str | None:
        """The record's page in Lightning Experience, or None when the org's address is unknown.

        The address comes from the open session, else from settings (``ui_url``, a My Domain
        login_url): never a login just to draw a link.
        """
        token = self.transport.token
        base = token.instance_url if token is not None else self.settings.ui_url
        if base is None:
            return None
        return f"{base}/lightning/r/{quote(object_name, safe='')}/{quote(key, safe='')}/view"

    def close(self) -> None:
        """Drop the session; safe to call twice."""
        self.transport.close()

    # -- rows → changes ---------------------------------------------------------------------

    def _wanted(self, info: ObjectInfo, fields: Sequence[str] | None) -> list[str]:
        if fields is None:
            raw = self._raw_describe.get(info.name, {})
            skipped = {f["name"] for f in raw.get("fields", [])
                       if f.get("type") in _UNSELECTED_TYPES}
            return [name for name in info.fields if name not in skipped]
        for name in fields:
            if name not in info.fields:
                raise _unknown_field(info.name, name)
        return list(dict.fromkeys([KEY_FIELD, *fields]))

    @staticmethod
    def _with_feed_fields(info: ObjectInfo, wanted: Sequence[str]) -> list[str]:
        extra = [KEY_FIELD, CURSOR_FIELD, "IsDeleted", "MasterRecordId"]
        if info.name == "Lead":
            extra += ["IsConverted", "ConvertedContactId"]
        return list(dict.fromkeys([*wanted, *(f for f in extra if f in info.fields)]))

    def _change(self, object_name: str, row: Mapping[str, Any], wanted: set[str]) -> Change:
        key = str(row[KEY_FIELD])
        modstamp = row.get(CURSOR_FIELD)
        modified_at = parse_datetime(modstamp) if modstamp else None
        version = cursor_of(modstamp) if modstamp else None
        if row.get("IsDeleted"):
            master = row.get("MasterRecordId")
            successor = (object_name, str(master)) if master else None
            return Change(key, Op.DELETE, {}, modified_at, version, successor)
        values = {name: row.get(name) for name in wanted if not isinstance(row.get(name), dict)}
        successor = None
        if object_name == "Lead" and row.get("IsConverted") and row.get("ConvertedContactId"):
            successor = ("Contact", str(row["ConvertedContactId"]))
        return Change(key, Op.UPSERT, values, modified_at, version, successor)

    def __repr__(self) -> str:
        return f"<SalesforceConnector {self.name!r}>"


def _unknown_object(object_name: str) -> ConnectorError:
    return ConnectorError(
        ErrorKind.CONFIG,
        f"Salesforce has no object {object_name!r} (or the integration user cannot see it)",
        code="INVALID_TYPE",
        hint="check the object's API name (custom objects end in __c) and the user's access",
    )


def _unknown_field(object_name: str, field_name: str) -> ConnectorError:
    return ConnectorError(
        ErrorKind.CONFIG,
        f"No such column '{field_name}' on entity '{object_name}'",
        code="INVALID_FIELD",
        field=field_name,
        hint=f"check the field's API name on {object_name} (custom fields end in __c)",
    )


def client_of(connector: SalesforceConnector) -> Salesforce:
    """The logged-in simple-salesforce client (for tests and one-off scripts)."""
    return connector.transport.client()
