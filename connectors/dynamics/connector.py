"""The Dynamics 365 connector (``type: dynamics``): Dataverse Web API v9.2 over plain requests."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from connectors.base import (
    ApiUsage,
    Capabilities,
    Change,
    Cursor,
    ObjectInfo,
    Op,
    OutboundRecord,
    Page,
    WriteResult,
)
from connectors.config import register_secrets
from connectors.dynamics.auth import TokenAuth
from connectors.dynamics.errors import classify_response, is_expired_tracking
from connectors.dynamics.schema import (
    LOOKUP_TYPES,
    EntityInfo,
    entity_info,
    odata_literal,
    parse_datetime,
    read_value,
    version_of,
)
from connectors.dynamics.settings import (
    MAX_BATCH_SIZE,
    SECRET_KEYS,
    DynamicsConnection,
    DynamicsSettings,
)
from connectors.dynamics.writes import Writer
from connectors.errors import ConnectorError, ErrorKind
from connectors.filters import Filter
from connectors.http import HttpClient
from connectors.over_http import HttpConnector
from core.logs import event, get_logger

_log = get_logger("dynamics")

#: Connectors live for one cycle, but an environment's schema rarely changes: sharing
#: describe results in the process keeps an idle cycle at one API call per table (the read).
DESCRIBE_TTL = 600.0
_DESCRIBE_CACHE: dict[tuple[str, str, str], tuple[float, EntityInfo]] = {}

#: The tables Syncline's mappings use; ``describe()`` without names describes these.
STANDARD_ENTITIES = ("lead", "contact", "account", "campaign", "list", "listmember",
                     "campaignresponse", "opportunity")
#: Headers every Web API call carries: Dataverse speaks OData 4.0 and answers JSON.
ODATA_HEADERS = {"OData-MaxVersion": "4.0", "OData-Version": "4.0",
                 "Accept": "application/json"}
#: ``If-None-Match: null``: reads must not be answered from a cached copy.
READ_HEADERS = {"If-None-Match": "null"}
#: Values per lookup query at most; the URL length (LOOKUP_URL_BYTES) usually binds first.
LOOKUP_CHUNK = 200
LOOKUP_URL_BYTES = 12_000
#: A lead in this state was qualified: its contact carries the person on.
LEAD_QUALIFIED = 1
_ATTRIBUTE_PROPERTIES = ("LogicalName,AttributeType,AttributeOf,MaxLength,RequiredLevel,"
                         "IsValidForCreate,IsValidForUpdate,DisplayName,Format,Targets,"
                         "OptionSet,DefaultFormValue,IsCustomAttribute")
_RELATIONSHIP_PROPERTIES = ("ReferencingAttribute,ReferencedEntity,"
                            "ReferencingEntityNavigationPropertyName")


def forget_describes() -> None:
    """Drop the shared describe results (after a schema change; tests start from scratch)."""
    _DESCRIBE_CACHE.clear()


class DynamicsConnector(HttpConnector[HttpClient]):
    """Microsoft Dataverse (Dynamics 365) through its Web API, with our own thin client.

    Reads use change tracking: the cursor is the ``@odata.deltaLink`` Dataverse hands out
    at the end of a read, so only the last page of a read carries a cursor (a delta link
    exists only once every page was read; earlier pages have ``cursor=None``, and a read cut
    short starts over from the previous link, which the engine dedupes). Writes go out as
    ``$batch`` requests with ``odata.continue-on-error``: one call per ``max_batch_size``
    records, one result each, created/updated and the new version from each part.
    """

    type_name = "dynamics"
    where_refused = (
        "Dataverse refuses $filter on change-tracking reads (the delta link Syncline's cursor "
        "is), so every change is read"
    )
    # Delta links are opaque and only the last page of a read has one: nothing to sort.
    # ``versionnumber`` is a row version, new on every write: updates send it as If-Match.
    capabilities = Capabilities(sorted_changes=False, max_batch_size=MAX_BATCH_SIZE,
                                lookup_batch_size=LOOKUP_CHUNK, row_versions=True)
    secret_keys = SECRET_KEYS
    settings_model = DynamicsConnection

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._http: HttpClient | None = None
        super().__init__(name, config)
        # Registered here too, so a connector built in code (tests, the demo) is as safe as
        # one read from the connections file.
        register_secrets(config, SECRET_KEYS)
        self.settings = DynamicsSettings.parse(name, config)
        self.page_size = self.settings.page_size
        self.max_batch_size = self.settings.max_batch_size
        self.capabilities = replace(  # type: ignore[misc]
            type(self).capabilities, max_batch_size=self.max_batch_size)
        session = requests.Session()
        self.auth = TokenAuth(self.settings.credentials, session)
        self._http = HttpClient(self.settings.api_url, auth=self.auth,
                                classify=classify_response, retry=self.settings.retry,
                                on_response=self._observe, headers=ODATA_HEADERS,
                                session=session)
        self._described: dict[str, EntityInfo] = {}
        #: GUID → table, learnt from reads and writes: which target a Customer lookup binds.
        self.known_targets: dict[str, str] = {}
        self.burst_remaining: int | None = None
        self.writer = Writer(self)

    # -- plumbing ---------------------------------------------------------------------------

    def _observe(self, response: requests.Response) -> None:
        burst = response.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")
        if burst and burst.isdigit():
            self.burst_remaining = int(burst)

    def get_json(self, path_or_url: str, *, headers: Mapping[str, str] | None = None,
                 params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON document (reads never come from a cache: ``If-None-Match: null``)."""
        response = self.http.get(path_or_url, headers={**READ_HEADERS, **(headers or {})},
                                 params=params)
        try:
            body = response.json()
        except ValueError:
            raise ConnectorError(ErrorKind.SYSTEM,
                                 f"Dynamics answered {urlsplit(response.url).path} with no JSON",
                                 status=response.status_code) from None
        if not isinstance(body, dict):
            raise ConnectorError(ErrorKind.SYSTEM, "Dynamics answered with unexpected JSON")
        return body

    # -- the interface ----------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated read of the metadata (every application user may do it)."""
        self.get_json("EntityDefinitions", params={
            "$select": "LogicalName", "$filter": "LogicalName eq 'lead'"})

    def describe(self, objects: Sequence[str] | None = None) -> dict[str, ObjectInfo]:
        """Tables' columns from ``EntityDefinitions`` (cached); unknown table → CONFIG."""
        names = list(objects) if objects is not None else list(STANDARD_ENTITIES)
        return {name: self.entity(name).info for name in names}

    def entity(self, entity_name: str) -> EntityInfo:
        """One table's metadata: fetched once per process and environment, for DESCRIBE_TTL."""
        if entity_name not in self._described:
            key = (self.settings.url, self.settings.credentials.client_id, entity_name)
            cached = _DESCRIBE_CACHE.get(key)
            if cached is not None and time.monotonic() - cached[0] < DESCRIBE_TTL:
                described = cached[1]
            else:
                described = self._fetch_entity(entity_name)
                _DESCRIBE_CACHE[key] = (time.monotonic(), described)
            self._described[entity_name] = described
        return self._described[entity_name]

    def _fetch_entity(self, entity_name: str) -> EntityInfo:
        if not entity_name.replace("_", "").isalnum() or entity_name.lower() != entity_name:
            raise _unknown_entity(entity_name)
        path = f"EntityDefinitions(LogicalName='{entity_name}')"
        try:
            definition = self.get_json(path, params={
                "$select": "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,"
                           "DisplayName,Keys",
                "$expand": f"Attributes($select={_ATTRIBUTE_PROPERTIES})"})
        except ConnectorError as exc:
            if exc.status == 404 or exc.kind is ErrorKind.NOT_FOUND:
                raise _unknown_entity(entity_name) from None
            raise
        attributes = definition.get("Attributes")
        if not isinstance(attributes, list):
            attributes = self.get_json(f"{path}/Attributes").get("value") or []
        relationships: list[Any] = []
        if any(a.get("IsCustomAttribute") and a.get("AttributeType") in LOOKUP_TYPES
               for a in attributes):
            # Custom lookups bind by a navigation name only the relationships tell; standard
            # tables follow the naming convention, so they cost no extra request.
            relationships = self.get_json(f"{path}/ManyToOneRelationships", params={
                "$select": _RELATIONSHIP_PROPERTIES}).get("value") or []
        return entity_info(definition, attributes, relationships)

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        """Change tracking: all rows and a delta link (since None), or changes since a link.

        An expired or invalid delta link falls back to a full re-read, logged. ``where`` is
        not sent (``where_refused``): every change comes and the engine applies the rule.
        """
        described = self.entity(object_name)
        wanted = self._wanted(described, fields)
        if since is None:
            return self._pages(object_name, self._initial_url(described, wanted), wanted)
        return self._delta_pages(object_name, described, self._checked_link(since), wanted)

    def _initial_url(self, described: EntityInfo, wanted: Sequence[str]) -> str:
        selected = self._selected(described, wanted)
        return f"{described.entity_set}?$select={','.join(selected)}"

    def _checked_link(self, link: str) -> str:
        # A stored cursor carries our token to wherever it points: only this environment.
        if urlsplit(link).scheme:
            if not link.startswith(self.http.base_url):
                raise ConnectorError(
                    ErrorKind.CONFIG,
                    "the stored cursor is not a delta link of this environment",
                    hint="reset the mapping's cursor to read everything again")
            return link
        return link.lstrip("/")

    def _delta_pages(self, object_name: str, described: EntityInfo, link: str,
                     wanted: Sequence[str]) -> Iterator[Page]:
        try:
            first = self.get_json(link, headers=self._track_headers())
        except ConnectorError as exc:
            if not is_expired_tracking(exc):
                raise
            # Tokens live 7 days by default (the change tracking page): start over, as the
            # error asks; the engine's links make the re-read of known records idempotent.
            event(_log, "delta_token_expired", connection=self.name, entity=object_name,
                  code=exc.code)
            yield from self._pages(object_name, self._initial_url(described, wanted), wanted)
            return
        yield from self._pages(object_name, None, wanted, first=first)

    def _track_headers(self) -> dict[str, str]:
        return {"Prefer": f"odata.track-changes,odata.maxpagesize={self.page_size},"
                          'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'}

    def _query_headers(self) -> dict[str, str]:
        # No track-changes: Dataverse refuses $filter, $orderby, $expand and $top with it.
        return {"Prefer": f"odata.maxpagesize={self.page_size},"
                          'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'}

    def _pages(self, object_name: str, url: str | None, wanted: Sequence[str], *,
               first: dict[str, Any] | None = None, track: bool = True) -> Iterator[Page]:
        headers = self._track_headers() if track else self._query_headers()
        body = first if first is not None else self.get_json(url or "", headers=headers)
        while True:
            changes = [self._change(object_name, row, wanted) for row in body.get("value") or ()]
            next_link = body.get("@odata.nextLink")
            if next_link:
                if changes:
                    yield Page(changes, None)
                # Dataverse wants the nextLink followed unchanged, with the same Prefer header.
                body = self.get_json(self._checked_link(str(next_link)), headers=headers)
                continue
            delta = body.get("@odata.deltaLink")
            yield Page(changes, str(delta) if delta else None)
            return

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Live rows whose column equals one of ``values`` (text compared ignoring case).

        Qualified leads are left out of matching: their contact carries the person on.
        """
        described = self.entity(object_name)
        column = described.columns.get(field_name)
        if column is None:
            raise _unknown_field(object_name, field_name)
        wanted = self._wanted(described, fields)
        selected = self._selected(described, wanted)
        base = f"{described.entity_set}?$select={','.join(selected)}&$filter="
        extra = ""
        if object_name == "lead" and field_name != described.primary_id:
            extra = f" and statecode ne {LEAD_QUALIFIED}"
        found: dict[str, Change] = {}
        for chunk in self._filters(column, values, len(base) + len(extra)):
            url = base + quote(f"({chunk}){extra}", safe="(),='$")
            for page in self._pages(object_name, url, wanted, track=False):
                for change in page.changes:
                    found.setdefault(change.key, change)
        return list(found.values())

    def _filters(self, column: Any, values: Sequence[str], overhead: int) -> Iterator[str]:
        from connectors.dynamics.schema import option_value

        terms: list[str] = []
        size = overhead
        for value in dict.fromkeys(v for v in values if v is not None):
            literal = value
            if column.is_option_set:
                number = option_value(column, value)
                if number is None:
                    continue
                literal = number
            term = f"{column.wire_name} eq {odata_literal(column, literal)}"
            # Percent-encoding can triple a character; count it so the URL stays in bounds.
            cost = len(quote(term)) + 4
            if terms and (size + cost > LOOKUP_URL_BYTES or len(terms) >= LOOKUP_CHUNK):
                yield " or ".join(terms)
                terms, size = [], overhead
            terms.append(term)
            size += cost
        if terms:
            yield " or ".join(terms)

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """Deletes, updates, upserts and creates via ``$batch``; one result per input, in order."""
        return self.writer.write(object_name, records)

    def usage(self) -> ApiUsage | None:
        """None: Dataverse reports no daily allowance in its headers.

        ``burst_remaining`` keeps ``x-ms-ratelimit-burst-remaining-xrm-requests`` for logs.
        """
        return None

    def ui_url(self, object_name: str, key: str) -> str | None:
        """The record's form in the Dynamics web client."""
        return (f"{self.settings.url}/main.aspx?etn={quote(object_name)}&id={quote(key)}"
                "&pagetype=entityrecord")

    def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._http is not None:
            self._http.close()

    # -- rows → changes ---------------------------------------------------------------------

    def _wanted(self, described: EntityInfo, fields: Sequence[str] | None) -> list[str]:
        if fields is None:
            return list(described.columns)
        for name in fields:
            if name not in described.columns:
                raise _unknown_field(described.info.name, name)
        return list(dict.fromkeys([described.primary_id, *fields]))

    @staticmethod
    def _selected(described: EntityInfo, wanted: Sequence[str]) -> list[str]:
        extra = [described.primary_id, "versionnumber", "modifiedon"]
        if described.info.name == "lead":
            extra += ["statecode", "parentcontactid"]
        names = dict.fromkeys([*wanted, *(e for e in extra if e in described.columns)])
        return [described.columns[name].wire_name for name in names]

    def _change(self, object_name: str, row: Mapping[str, Any], wanted: Sequence[str]) -> Change:
        described = self.entity(object_name)
        context = str(row.get("@odata.context") or "")
        if context.endswith("$deletedEntity") or row.get("reason") == "deleted":
            return Change(str(row.get("id") or row.get(described.primary_id)), Op.DELETE)
        key = str(row[described.primary_id])
        self.known_targets[key] = object_name
        values: dict[str, Any] = {}
        for name in wanted:
            column = described.columns[name]
            values[name] = read_value(column, row)
            if column.is_lookup and values[name]:
                target = row.get(f"{column.wire_name}@Microsoft.Dynamics.CRM.lookuplogicalname")
                if target:
                    self.known_targets[str(values[name])] = str(target)
        successor = None
        contact = row.get("_parentcontactid_value")
        if object_name == "lead" and row.get("statecode") == LEAD_QUALIFIED and contact:
            successor = ("contact", str(contact))
        return Change(key, Op.UPSERT, values, parse_datetime(row.get("modifiedon")),
                      version_of(row), successor)

    def __repr__(self) -> str:
        return f"<DynamicsConnector {self.name!r}>"


def _unknown_entity(entity_name: str) -> ConnectorError:
    return ConnectorError(
        ErrorKind.CONFIG,
        f"Dynamics has no table {entity_name!r} (or the application user cannot see it)",
        hint="use the table's logical name (lower case: lead, contact, account, ...)",
    )


def _unknown_field(entity_name: str, field_name: str) -> ConnectorError:
    return ConnectorError(
        ErrorKind.CONFIG,
        f"table {entity_name!r} has no column {field_name!r}",
        field=field_name,
        hint=f"check the column's logical name on {entity_name} (see describe)",
    )
