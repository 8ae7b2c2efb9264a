"""The webhook connector: a source's stored requests (the inbox) read as one remote object.

Requests to ``POST /hooks/<source>`` are stored first (inbound.inbox); this connector hands
them to the ordinary mapping machinery as records of the object ``submission``, so a forms
mapping (``connection: website-forms, direction: to_hub``) upserts people with its field
rules, its errors and its retries like any pull.

API: SQL on the hub database's ``inbound_event`` table (the connection's ``engine`` handed in
code, else its ``database_url``, else ``DATABASE_URL`` as every command uses). Cursor: the
inbox id, zero-padded so string order is numeric order, inclusive. A record: key = the inbox
id; fields = the body (a JSON object or a form) flattened to dotted names, plus ``_event_id``,
``_received_at`` (ISO UTC) and ``_source``; a body that does not parse gives ``_error`` and
``_raw`` instead, so the engine records that record's error (with the raw text) rather than
stopping. Events are immutable: the version is a constant. Writes: none (read only).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from connectors.base import (
    Capabilities,
    Change,
    Connector,
    Cursor,
    FieldInfo,
    ObjectInfo,
    Op,
    OutboundRecord,
    Page,
    WriteResult,
    WriteStatus,
)
from connectors.errors import ConnectorError, ErrorKind
from connectors.filters import Filter
from connectors.settings import parse_settings
from connectors.webhook.settings import WebhookConnection
from core.clock import as_utc
from core.db import database_url, describe_error, make_engine
from core.models import InboundEvent
from inbound.body import BodyError, parse

#: The one object a webhook source has.
OBJECT = "submission"
#: The key field ``lookup`` takes for inbox ids (the engine's retries use it).
KEY_FIELD = "key"
#: Fields every submission has, whatever its form sends.
SPECIAL_FIELDS: dict[str, str] = {
    "_event_id": "string", "_received_at": "datetime", "_source": "string",
    "_error": "text", "_raw": "text",
}
#: Fields ``describe`` lists before any request arrived: what website forms usually send.
#: A mapping may name these (and any field seen in the latest events) and check clean.
DEFAULT_FIELDS = (
    "email", "first_name", "last_name", "name", "company", "job_title", "phone", "country",
    "message", "consent", "form_id", "form_name", "page_url", "referrer", "submitted_at",
    "campaign", "utm.source", "utm.medium", "utm.campaign", "utm.term", "utm.content",
)
#: How many of the latest events ``describe`` looks at for the fields forms send.
DESCRIBE_SAMPLE = 200
#: The version of every record: a stored request never changes.
VERSION = "1"
#: Characters of an unreadable body kept in its record's ``_raw`` (and so in its error).
RAW_LIMIT = 4000
_CURSOR_DIGITS = 12


def cursor_for(event_id: int) -> Cursor:
    """The cursor of an inbox id: zero-padded, so comparing strings compares the numbers."""
    return f"{event_id:0{_CURSOR_DIGITS}d}"


@functools.cache
def _engine_for(url: str) -> Engine:
    # One pool per URL per process: connectors are built once per cycle.
    return make_engine(url)


class WebhookConnector(Connector):
    """A webhook source's inbox, read-only, as the object ``submission``."""

    type_name = "webhook"
    capabilities = Capabilities(
        deletes_in_feed=False, write=False, delete=False, external_id_upsert=False,
        row_versions=True, max_batch_size=500, lookup_batch_size=500,
    )
    settings_model = WebhookConnection
    secret_keys = frozenset({"secret", "secrets"})
    where_refused = "a webhook source keeps its requests in the hub and reads them all"

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        super().__init__(name, config)
        typed = {"type": self.type_name, **config}
        self.settings = parse_settings(WebhookConnection, typed, at=(name,))
        self.page_size = self.settings.page_size
        given = self.settings.engine
        if given is not None and not isinstance(given, Engine):
            raise ConnectorError(ErrorKind.CONFIG, f"{name}.engine: must be an SQLAlchemy engine")
        self._engine: Engine | None = given

    @property
    def engine(self) -> Engine:
        """The hub database holding the inbox (made on first use)."""
        if self._engine is None:
            self._engine = _engine_for(database_url(self.settings.database_url))
        return self._engine

    # -- the connector interface --------------------------------------------------------------

    def check(self) -> None:
        """The inbox table answers (one cheap query)."""
        self._query(select(InboundEvent.id).where(InboundEvent.source == self.name).limit(1))

    def describe(self, objects: Sequence[str] | None = None) -> dict[str, ObjectInfo]:
        """``submission``: the special fields, the usual form fields and every field seen lately."""
        for name in objects or ():
            self._known(name)
        try:
            rows = self._query(
                select(InboundEvent.body, InboundEvent.content_type)
                .where(InboundEvent.source == self.name)
                .order_by(InboundEvent.id.desc())  # type: ignore[union-attr]
                .limit(DESCRIBE_SAMPLE)
            )
        except ConnectorError:
            # A sender names its fields freely: the usual ones are enough to check a mapping
            # before the hub's database exists (`mappings check` ahead of `syncline init`);
            # check() is what says the inbox cannot be read.
            rows = []
        seen: dict[str, None] = dict.fromkeys(DEFAULT_FIELDS)
        for body, content_type in rows:
            try:
                seen.update(dict.fromkeys(parse(bytes(body), content_type)))
            except BodyError:
                continue
        fields = {name: _info(name, kind) for name, kind in SPECIAL_FIELDS.items()}
        fields.update({name: _info(name, "string") for name in seen if name not in fields})
        info = ObjectInfo(OBJECT, KEY_FIELD, KEY_FIELD, fields, label="Form submission")
        return {OBJECT: info}

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        """The source's events with inbox id >= ``since``, oldest first, a page at a time."""
        self._known(object_name)
        start = self._cursor_number(since)
        while True:
            rows = self._query(
                self._events().where(InboundEvent.id >= start)  # type: ignore[operator]
                .order_by(InboundEvent.id).limit(self.page_size)  # type: ignore[arg-type]
            )
            if not rows:
                return
            changes = [self._change(row) for row in rows]
            last = int(rows[-1][0])
            yield Page(changes, cursor_for(last))
            if len(rows) < self.page_size:
                return
            start = last + 1

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Events by inbox id (``key``) or by the sender's ``_event_id``: retries, replays."""
        self._known(object_name)
        if field_name == KEY_FIELD:
            ids = sorted({int(v) for v in values if str(v).strip().isdigit()})
            column: Any = InboundEvent.id
            wanted: list[Any] = ids
        elif field_name == "_event_id":
            column, wanted = InboundEvent.event_id, list(dict.fromkeys(str(v) for v in values))
        else:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"{OBJECT} can be looked up by {KEY_FIELD} or _event_id, not {field_name!r}",
            )
        found: list[Change] = []
        size = self.capabilities.lookup_batch_size
        for start in range(0, len(wanted), size):
            rows = self._query(
                self._events().where(column.in_(wanted[start:start + size]))
                .order_by(InboundEvent.id)  # type: ignore[arg-type]
            )
            found += [self._change(row) for row in rows]
        return found

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """Nothing can be written to a webhook source: every record fails (CONFIG)."""
        error = ConnectorError(
            ErrorKind.CONFIG, f"{self.name} is a webhook source: it only receives; nothing "
            "can be written to it", hint="set the mapping's direction to to_hub",
        )
        return [WriteResult(r.ref, WriteStatus.FAILED, error=error) for r in records]

    # -- reading the inbox ---------------------------------------------------------------------

    def _known(self, object_name: str) -> None:
        if object_name != OBJECT:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"a webhook source has one object, {OBJECT!r}, not {object_name!r}",
            )

    def _cursor_number(self, since: Cursor | None) -> int:
        if since is None or not since.strip():
            return 0
        if not since.strip().isdigit():
            raise ConnectorError(ErrorKind.CONFIG, f"not a webhook cursor: {since!r}")
        return int(since)

    def _events(self) -> Any:
        return select(
            InboundEvent.id, InboundEvent.event_id, InboundEvent.received_at,
            InboundEvent.content_type, InboundEvent.body,
        ).where(InboundEvent.source == self.name)

    def _query(self, statement: Any) -> list[Any]:
        self.api_calls += 1
        try:
            with Session(self.engine) as session:
                return list(session.execute(statement).all())
        except SQLAlchemyError as exc:
            raise ConnectorError(
                ErrorKind.TRANSIENT, f"the inbox cannot be read: {describe_error(exc, self.engine)}"
            ) from None

    def _change(self, row: Any) -> Change:
        inbox_id, event_id, received_at, content_type, body = row
        received = as_utc(received_at)
        raw = bytes(body)
        try:
            fields: dict[str, Any] = parse(raw, content_type)
        except BodyError as exc:
            fields = {"_error": str(exc),
                      "_raw": raw[:RAW_LIMIT].decode("utf-8", errors="replace")}
        fields.update(_event_id=event_id, _received_at=received.isoformat(), _source=self.name)
        return Change(str(inbox_id), Op.UPSERT, fields, modified_at=received, version=VERSION)


def _info(name: str, kind: str) -> FieldInfo:
    return FieldInfo(name, type=kind, label=name, createable=False, updateable=False)
