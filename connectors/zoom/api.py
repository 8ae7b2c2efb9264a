"""The Zoom API v2 calls a webinar sync makes, paged and with ids encoded as Zoom requires.

Lists page with an opaque ``next_page_token`` (``""`` on the last page) at most 300 records
a page; a page token dies after 15 minutes, so a listing is read through without pausing. A
webinar instance's UUID that starts with ``/`` or contains ``//`` goes into a path encoded
twice, or Zoom's gateway finds no such webinar.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors.errors import ConnectorError
from connectors.http import HttpClient
from connectors.zoom.errors import NOT_FOUND_OR_NOT_READY

#: The largest page Zoom serves.
MAX_PAGE_SIZE = 300
#: Registrants per status update (Zoom refuses more).
MAX_STATUS_UPDATES = 30


def path_id(webinar: str | int) -> str:
    """A webinar id or instance UUID as a path segment (UUIDs Zoom needs twice encoded)."""
    text = str(webinar)
    once = quote(text, safe="")
    if text.startswith("/") or "//" in text:
        return quote(once, safe="")
    return once


class ZoomApi:
    """The webinar calls, over an authenticated :class:`HttpClient` rooted at ``/v2``."""

    def __init__(self, http: HttpClient, page_size: int = MAX_PAGE_SIZE) -> None:
        self.http = http
        self.page_size = min(max(page_size, 1), MAX_PAGE_SIZE)

    def _pages(self, path: str, key: str, params: Mapping[str, Any]) -> Iterator[list[dict]]:
        """Every page of a listing, following ``next_page_token`` until it is empty."""
        query = {**params, "page_size": self.page_size}
        while True:
            body = self.http.get(path, params=query).json()
            yield list(body.get(key) or [])
            token = body.get("next_page_token") or ""
            if not token:
                return
            query = {**params, "page_size": self.page_size, "next_page_token": token}

    def webinars(self, user: str = "me", kind: str = "scheduled") -> Iterator[dict]:
        """The user's webinars (``scheduled``: every unexpired one; ``upcoming``)."""
        for page in self._pages(f"users/{quote(user, safe='@')}/webinars", "webinars",
                                {"type": kind}):
            yield from page

    def webinar(self, webinar_id: str | int) -> dict:
        """One webinar's details."""
        return dict(self.http.get(f"webinars/{path_id(webinar_id)}").json())

    def registrants(self, webinar_id: str | int, status: str = "approved") -> Iterator[dict]:
        """The webinar's registrants of one status (approved, pending or denied)."""
        for page in self._pages(f"webinars/{path_id(webinar_id)}/registrants", "registrants",
                                {"status": status}):
            yield from page

    def add_registrant(self, webinar_id: str | int, fields: Mapping[str, Any]) -> dict:
        """Register someone; Zoom answers an email already registered with that registration."""
        response = self.http.post(f"webinars/{path_id(webinar_id)}/registrants", json=dict(fields))
        return dict(response.json())

    def update_statuses(self, webinar_id: str | int, action: str,
                        registrants: Sequence[Mapping[str, str]]) -> None:
        """Approve, deny or cancel registrants, 30 to a call."""
        items = list(registrants)
        for start in range(0, len(items), MAX_STATUS_UPDATES):
            batch = [dict(r) for r in items[start:start + MAX_STATUS_UPDATES]]
            self.http.request("PUT", f"webinars/{path_id(webinar_id)}/registrants/status",
                              json={"action": action, "registrants": batch})

    def participants(self, webinar: str | int) -> list[dict] | None:
        """The attendance report, one row per join; None while Zoom has no report yet."""
        try:
            rows: list[dict] = []
            for page in self._pages(f"report/webinars/{path_id(webinar)}/participants",
                                    "participants", {"include_fields": "registrant_id"}):
                rows += page
            return rows
        except ConnectorError as exc:
            if exc.code == NOT_FOUND_OR_NOT_READY:
                return None  # reports appear a while after the end: ask again later
            raise

    def absentees(self, webinar_uuid: str) -> list[dict] | None:
        """Registrants who did not join an ended instance; None while Zoom has no list yet."""
        try:
            rows: list[dict] = []
            for page in self._pages(f"past_webinars/{path_id(webinar_uuid)}/absentees",
                                    "registrants", {}):
                rows += page
            return rows
        except ConnectorError as exc:
            if exc.code == NOT_FOUND_OR_NOT_READY:
                return None
            raise
