"""The Zoom connector (``type: zoom``): a user's webinars, their registrants, and those people."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from connectors.base import (
    ApiUsage,
    Capabilities,
    Change,
    Cursor,
    ObjectInfo,
    OutboundRecord,
    Page,
    WriteCost,
    WriteResult,
)
from connectors.config import register_secrets
from connectors.errors import ConnectorError, ErrorKind
from connectors.filters import Filter
from connectors.over_http import HttpConnector
from connectors.zoom.api import ZoomApi
from connectors.zoom.auth import ZoomTokenAuth
from connectors.zoom.errors import classify_zoom
from connectors.zoom.reads import Reader
from connectors.zoom.records import (
    PERSON,
    REGISTRANT,
    WEBINAR,
    split_key,
    webinar_change,
    webinar_end,
)
from connectors.zoom.schema import OBJECTS
from connectors.zoom.settings import SECRET_KEYS, ZoomConnection, ZoomSettings
from connectors.zoom.transport import ZoomHttp
from connectors.zoom.writes import RegistrantWriter, refuse_read_only
from core.values import normalise_email


class ZoomConnector(HttpConnector[ZoomHttp]):
    """Zoom API v2 webinars through a Server-to-Server OAuth app.

    Objects: ``webinar`` (read-only), ``registrant`` (read, register, cancel) and ``person``
    (read-only: one per email that registered). See connectors/zoom/DESIGN.md for the cursor
    and what each read costs.
    """

    type_name = "zoom"
    where_refused = "Zoom's listings take no filter: every webinar and registrant read is sent"
    # Registrants are read per webinar, not in change order; a Change's version is a hash of
    # its fields, new whenever a field is. Zoom cannot edit a registration (``update``), has
    # no upsert on an external id, and a cancelled registration leaves the listing silently.
    # Creates cost one call per person (Zoom registers one at a time): ``max_batch_size`` 1
    # says so to the planner; ``write`` still takes any number (cancels go 30 to a call).
    capabilities = Capabilities(deletes_in_feed=False, hard_deletes=False, sorted_changes=False,
                                external_id_upsert=False, row_versions=True, update=False,
                                max_batch_size=1, lookup_batch_size=200)
    settings_model = ZoomConnection
    secret_keys = SECRET_KEYS
    #: What ``describe`` answers (Zoom has no metadata API).
    objects: ClassVar[dict[str, ObjectInfo]] = OBJECTS

    def __init__(self, name: str, config: Mapping[str, Any], *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._http: ZoomHttp | None = None
        super().__init__(name, config)
        register_secrets(config, SECRET_KEYS)
        self.settings = ZoomSettings.parse(name, config)
        self.api_budget = self.settings.api_budget
        self.page_size = self.settings.page_size
        session = requests.Session()
        self.auth = ZoomTokenAuth(self.settings.app, session)
        self._http = ZoomHttp(self.settings.api_url, auth=self.auth, classify=classify_zoom,
                              retry=self.settings.retry, session=session)
        self.api = ZoomApi(self._http, self.settings.page_size)
        self.reader = Reader(self.api, self.settings.identity, self.settings.user,
                             self.settings.recent_days, self.settings.page_size, clock)
        self.writer = RegistrantWriter(self.api, self.reader)
        self._checked = False

    # -- the interface ----------------------------------------------------------------------

    def check(self) -> None:
        """One call: the first webinar of the user (the token, scopes and user in one go)."""
        self.http.get(f"users/{quote(self.settings.user, safe='@')}/webinars",
                      params={"type": "scheduled", "page_size": 1})

    def describe(self, objects: Sequence[str] | None = None) -> dict[str, ObjectInfo]:
        """The three objects' fixed fields; the first describe also checks the connection.

        Zoom has no metadata API. The check (one call) is what makes a mapping's ``check``
        tell a wrong app or an unknown ``user`` before any cycle runs.
        """
        names = list(objects) if objects is not None else list(OBJECTS)
        unknown = [name for name in names if name not in OBJECTS]
        if unknown:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"the Zoom connector has no object {unknown[0]!r} "
                f"(it has {', '.join(OBJECTS)})")
        if not self._checked:
            self.check()
            self._checked = True
        return {name: OBJECTS[name] for name in names}

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        """Webinars (all, every time), registrants and people (see reads.py); no filter sent."""
        self._check_fields(object_name, fields)
        if object_name == WEBINAR:
            return self.reader.read_webinars(fields)
        if object_name == REGISTRANT:
            return self.reader.read_registrants(since, fields)
        return self.reader.read_people(since, fields)

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Records whose field equals one of ``values`` (text ignoring case), read live.

        By key a registrant costs its webinar's listing (and report, once ended); by any other
        field every webinar still read is scanned. People are scanned across all webinars.
        """
        self._check_fields(object_name, [field_name, *(fields or ())])
        wanted = {_folded(v) for v in values if v is not None}
        if not wanted:
            return []
        if object_name == WEBINAR:
            now = self.reader.clock()
            found = [webinar_change(row, now) for row in self.reader.webinars(None)]
        elif object_name == PERSON:
            found = list(self.reader.people(None).values())
        else:
            found = self._registrants_for(field_name, values)
        return [self._cut(c, fields, OBJECTS[object_name].key_field) for c in found
                if _folded(c.fields.get(field_name)) in wanted]

    def _registrants_for(self, field_name: str, values: Sequence[str]) -> list[Change]:
        webinars = {str(w["id"]): w for w in self.reader.webinars(None)}
        if field_name == "key":
            ids = {parts[0] for v in values if (parts := split_key(str(v))) is not None}
        else:
            now = self.reader.clock()
            recent = self.reader.recent
            ids = {wid for wid, w in webinars.items()
                   if (end := webinar_end(w)) is None or now - end < recent}
        found: list[Change] = []
        for webinar_id in sorted(ids):
            webinar = webinars.get(webinar_id, {"id": webinar_id})
            self.reader.forget(webinar_id)  # a lookup reads live
            end = webinar_end(webinar)
            ended = end is not None and end <= self.reader.clock()
            report = self.reader.report(webinar, None) if ended else None
            found += self.reader.registrant_changes(webinar, None, report) or []
        return found

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """Registrants: register, cancel; webinars and people are read-only (FAILED results)."""
        if object_name not in OBJECTS:
            self.describe([object_name])
        if object_name != REGISTRANT:
            return refuse_read_only(object_name, records)
        results = self.writer.write(records)
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def write_cost(self, records: int) -> WriteCost:
        """One call per registration (Zoom registers one person at a time)."""
        return WriteCost(records)

    def usage(self) -> ApiUsage | None:
        """Today's Heavy calls (reports, absentees) against the daily allowance, as last seen."""
        return self.http.usage(datetime.now(UTC))

    def ui_url(self, object_name: str, key: str) -> str | None:
        """The webinar's page in the Zoom web portal (a registrant's: its webinar's)."""
        webinar_id = key.partition(":")[0] if object_name == REGISTRANT else key
        if object_name == PERSON or not webinar_id.isdigit():
            return None
        return f"https://zoom.us/webinar/{webinar_id}"

    def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._http is not None:
            self._http.close()

    # -- helpers ----------------------------------------------------------------------------

    def _check_fields(self, object_name: str, names: Sequence[str] | None) -> None:
        info = self.describe_offline(object_name)
        for name in names or ():
            if name not in info.fields:
                raise ConnectorError(ErrorKind.CONFIG,
                                     f"the Zoom {object_name} object has no field {name!r}")

    def describe_offline(self, object_name: str) -> ObjectInfo:
        """An object's fields without the first describe's check call."""
        info = OBJECTS.get(object_name)
        if info is None:
            raise ConnectorError(ErrorKind.CONFIG,
                                 f"the Zoom connector has no object {object_name!r} "
                                 f"(it has {', '.join(OBJECTS)})")
        return info

    @staticmethod
    def _cut(change: Change, fields: Sequence[str] | None, key_field: str) -> Change:
        if fields is None:
            return change
        kept = {name: change.fields.get(name) for name in dict.fromkeys([key_field, *fields])}
        return replace(change, fields=kept)


def _folded(value: Any) -> str | None:
    """A value as lookups compare it: text trimmed and case-folded (emails normalised)."""
    if value is None:
        return None
    return normalise_email(value) if isinstance(value, str) else str(value).lower()
