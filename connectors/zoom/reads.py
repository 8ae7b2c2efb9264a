"""Reading webinars, registrants and people from Zoom as cheaply as its API allows.

Zoom's registrant list has no "changed since" filter, so which webinars are read decides the
cost. Per read of ``registrant``:

- the webinars listing (one call per 300 webinars);
- an upcoming webinar: its approved registrants (one call per 300);
- an ended one, within ``recent_days`` of its end and not final: its participant report
  (one call while Zoom has none yet: it stays pending, quietly); once the report is there,
  its registrants, the report and the absentees are read, its registrants emitted one last
  time with their attendance, and the webinar is final: never read again;
- an ended one past ``recent_days``: nothing (a full read takes each once).

The listings go through the process cache (``cache.py``), so the ``person`` object read in the
same cycle pays nothing more. See ``cursor.py`` for what the cursor keeps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Change, Page
from connectors.errors import ConnectorError, ErrorKind
from connectors.zoom.api import ZoomApi
from connectors.zoom.attendance import outcomes
from connectors.zoom.cache import LISTINGS, ListingCache
from connectors.zoom.cursor import ReadState
from connectors.zoom.errors import NO_REGISTRATION
from connectors.zoom.records import (
    PERSON,
    REGISTRANT,
    WEBINAR,
    latest_registrations,
    only,
    person_change,
    person_fields,
    registrant_change,
    registrant_fields,
    webinar_change,
    webinar_end,
)
from connectors.zoom.times import iso, parse_time

#: A person cursor's time before any registration was seen.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: What a report is: the participant rows and the absentees (None while Zoom lists none).
Report = tuple[list[dict], list[dict] | None]


def digest(changes: Sequence[Change]) -> str:
    """A short hash of a webinar's registrants' versions (the cursor's ``d``)."""
    text = "|".join(sorted(f"{c.key}={c.version}" for c in changes))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Reader:
    """The reads of one connection; the listings shared through ``cache``."""

    def __init__(self, api: ZoomApi, identity: tuple[str, ...], user: str, recent_days: int,
                 page_size: int, clock: Callable[[], datetime] | None = None,
                 cache: ListingCache = LISTINGS) -> None:
        self.api = api
        self.identity = identity
        self.user = user
        self.recent = timedelta(days=recent_days)
        self.page_size = page_size
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cache = cache
        self._read_keys: list[tuple] = []

    # -- listings (cached) --------------------------------------------------------------------

    def _cached(self, key: tuple, reader: str | None, fetch: Callable[[], Any]) -> Any:
        self._read_keys.append(key)
        return self.cache.get(key, reader, fetch)

    def _read_ended(self) -> None:
        """A read is over: what it read stays cached TTL seconds from now."""
        self.cache.touch(self._read_keys)
        self._read_keys = []

    def webinars(self, reader: str | None) -> list[dict]:
        """The user's scheduled webinars (Zoom keeps ended ones listed until they expire)."""
        return self._cached((self.identity, "webinars"), reader,
                            lambda: list(self.api.webinars(self.user, "scheduled")))

    def registrants(self, webinar_id: str, reader: str | None) -> list[dict] | None:
        """A webinar's approved registrants; None when Zoom no longer knows the webinar."""
        def fetch() -> list[dict] | None:
            try:
                return list(self.api.registrants(webinar_id, "approved"))
            except ConnectorError as exc:
                # Gone, or a webinar without registration: nobody to read.
                if exc.kind is ErrorKind.NOT_FOUND or exc.code == NO_REGISTRATION:
                    return None
                raise
        return self._cached((self.identity, "registrants", webinar_id), reader, fetch)

    def report(self, webinar: Mapping[str, Any], reader: str | None) -> Report | None:
        """The ended instance's participant rows and absentees; None while Zoom has no report."""
        def fetch() -> Report | None:
            instance = webinar.get("uuid") or webinar["id"]
            rows = self.api.participants(instance)
            if rows is None:
                return None
            return rows, self.api.absentees(str(instance))
        return self._cached((self.identity, "report", str(webinar["id"])), reader, fetch)

    def forget(self, webinar_id: str) -> None:
        """Drop a webinar's cached registrants (after a write; a lookup reads them live).

        Its report stays: once Zoom serves one it does not change.
        """
        self.cache.forget(lambda key: key == (self.identity, "registrants", webinar_id))

    # -- webinar ------------------------------------------------------------------------------

    def read_webinars(self, fields: Sequence[str] | None) -> Iterator[Page]:
        """Every listed webinar, every time: its version tells the engine what changed."""
        self._read_keys = []
        now = self.clock()
        changes = [_cut(webinar_change(row, now), fields, "id")
                   for row in self.webinars(WEBINAR)]
        self._read_ended()
        yield from self._paged(changes, iso(now) or "")

    # -- registrant ---------------------------------------------------------------------------

    def read_registrants(self, since: str | None, fields: Sequence[str] | None
                         ) -> Iterator[Page]:
        """The registrants of webinars that changed since the cursor (module docstring)."""
        self._read_keys = []
        state = ReadState.decode(since)
        now = self.clock()
        after = ReadState(time=now)
        pending: list[Change] = []
        for webinar in self.webinars(REGISTRANT):
            emitted = self._webinar_registrants(webinar, state, after, now)
            for change in emitted:
                pending.append(_cut(change, fields, "key"))
                if len(pending) >= self.page_size:
                    yield Page(pending, None)
                    pending = []
        self._read_ended()
        yield Page(pending, after.encode())

    def _webinar_registrants(self, webinar: Mapping[str, Any], state: ReadState,
                             after: ReadState, now: datetime) -> list[Change]:
        webinar_id = str(webinar["id"])
        end = webinar_end(webinar)
        ended = end is not None and end <= now
        recent = not ended or (end is not None and now - end < self.recent)
        if ended and webinar_id in state.final:
            if recent:
                after.final.add(webinar_id)
            return []  # its attendance is final: never read again
        if not recent and not state.full:
            return []  # ended too long ago (a full read takes it once)
        known = state.digests.get(webinar_id)
        report = self.report(webinar, REGISTRANT) if ended else None
        if ended and report is None and known is not None and recent:
            after.digests[webinar_id] = known  # still waiting for the report: one call
            return []
        changes = self.registrant_changes(webinar, REGISTRANT, report)
        if changes is None:
            if report is not None and recent:
                after.final.add(webinar_id)  # nobody to read: never ask for its report again
            return []
        if report is not None or not recent:
            if recent:
                after.final.add(webinar_id)
            return changes  # one last time, with the attendance
        after.digests[webinar_id] = digest(changes)
        if state.full or known != after.digests[webinar_id]:
            return changes
        return []

    def registrant_changes(self, webinar: Mapping[str, Any], reader: str | None,
                           report: Report | None) -> list[Change] | None:
        """A webinar's registrants as Changes, with their attendance when ``report`` is given."""
        webinar_id = str(webinar["id"])
        rows = self.registrants(webinar_id, reader)
        if rows is None:
            return None
        participants, absentees = report if report is not None else (None, None)
        statuses, came = outcomes(rows, participants, absentees)
        settled_at = webinar_end(webinar) if report is not None else None
        changes = []
        for row in rows:
            fields = registrant_fields(webinar_id, row)
            email = fields["person"]
            if email is not None:
                fields = registrant_fields(webinar_id, row, statuses[email], came.get(email))
            changes.append(registrant_change(fields, settled_at))
        return changes

    # -- person -------------------------------------------------------------------------------

    def read_people(self, since: str | None, fields: Sequence[str] | None) -> Iterator[Page]:
        """People whose latest registration was made since the cursor (all on a full read).

        Registration closes when a webinar ends, so registrations made since the last read
        are all in upcoming webinars: an incremental read reads only those (from the cache
        the registrant read of the same cycle filled). Zoom edits no registration, so a
        person's values change only with a new one.
        """
        self._read_keys = []
        state = ReadState.decode(since)
        now = self.clock()
        registrations: list[Mapping[str, Any]] = []
        upcoming: list[Mapping[str, Any]] = []
        for webinar in self.webinars(PERSON):
            end = webinar_end(webinar)
            ended = end is not None and end <= now
            if not state.full and ended:
                continue
            for change in self.registrant_changes(webinar, PERSON, None) or ():
                registrations.append(change.fields)
                if not ended:
                    upcoming.append(change.fields)
        after = _latest_mark(registrations, upcoming, state)
        if not state.full:
            # Made after the cursor's second, or in it when that second's registrations changed.
            second = iso(state.time) or ""
            again = _mark_of(registrations, second) != state.mark
            registrations = [r for r in registrations if _created(r) > second
                             or again and _created(r) == second]
        changes = [_cut(person_change(person_fields(r)), fields, "email")
                   for r in latest_registrations(registrations).values()]
        self._read_ended()
        yield from self._paged(changes, after.encode())

    def people(self, reader: str | None) -> dict[str, Change]:
        """Every person of every listed webinar, by normalised email (for lookups)."""
        registrations = []
        for webinar in self.webinars(reader):
            for change in self.registrant_changes(webinar, reader, None) or ():
                registrations.append(change.fields)
        return {email: person_change(person_fields(r))
                for email, r in latest_registrations(registrations).items()}

    def _paged(self, changes: list[Change], cursor: str) -> Iterator[Page]:
        size = self.page_size
        chunks = [changes[start:start + size] for start in range(0, len(changes), size)] or [[]]
        for chunk in chunks[:-1]:
            yield Page(chunk, None)
        yield Page(chunks[-1], cursor)


def _created(registration: Mapping[str, Any]) -> str:
    return str(registration.get("create_time") or "")


def _mark_of(registrations: Sequence[Mapping[str, Any]], second: str) -> str:
    """A digest of the registrations made in ``second``."""
    keys = sorted(str(r["key"]) for r in registrations if _created(r) == second)
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:12]


def _latest_mark(registrations: Sequence[Mapping[str, Any]],
                 upcoming: Sequence[Mapping[str, Any]], state: ReadState) -> ReadState:
    """The person cursor after a read: the latest registration time seen, and its digest.

    The digest covers the upcoming webinars' registrations only: those are what the next
    (incremental) read compares it with.
    """
    latest = max((_created(r) for r in registrations), default="")
    before = iso(state.time) or ""
    if not latest or (before and latest < before):
        return ReadState(time=state.time or EPOCH, mark=state.mark)
    return ReadState(time=parse_time(latest), mark=_mark_of(upcoming, latest))


def _cut(change: Change, fields: Sequence[str] | None, key_field: str) -> Change:
    """The change with only the wanted fields (its version still that of the whole record)."""
    if fields is None:
        return change
    return Change(change.key, change.op, only(change.fields, fields, key_field),
                  change.modified_at, change.version)

