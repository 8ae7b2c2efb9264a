"""The connector interface: what the sync engine needs from any remote system, and nothing more."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from connectors.errors import ConnectorError, ErrorKind, FieldRefusal
from connectors.filters import Filter
from connectors.settings import ConnectionSettings

#: Opaque to the engine: a modstamp+id, an OData delta link, a sequence number. Always a string
#: so it can be stored as-is in ``sync_state``.
Cursor = str


class Op(StrEnum):
    """What happened to (or should happen to) a remote record."""

    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Change:
    """One remote record as read: its key, its fields (remote names, verbatim), or a delete."""

    key: str
    op: Op
    fields: Mapping[str, Any] = field(default_factory=dict)
    modified_at: datetime | None = None
    version: str | None = None
    #: ``(object, key)`` this record now lives on as: a converted Lead's Contact, a merged
    #: record's master. The engine moves the hub record's link there instead of unlinking it.
    successor: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of changes; ``cursor`` is safe to store once every change in it is applied."""

    changes: Sequence[Change]
    cursor: Cursor | None


@dataclass(frozen=True, slots=True)
class HardDeletes:
    """Records deleted since a cursor, as the remote lists them apart from its change feed.

    The list holds the deletes the feed may never show (past a recycle bin, hard deletes)
    and may hold others. ``gap`` is ``(from, to)`` when the remote no longer lists that
    stretch (it keeps deletes for a while only): records deleted for good then may be missed.
    """

    keys: Sequence[str]
    cursor: Cursor | None
    gap: tuple[datetime, datetime] | None = None


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    """One record to write. ``key`` None means create, made idempotent by ``external_id``.

    ``external_id`` is ``(remote field, value)``: the connector upserts on it, so a create
    repeated after a crash updates the record it already made instead of duplicating it.
    """

    ref: str
    key: str | None
    fields: Mapping[str, Any]
    op: Op = Op.UPSERT
    #: The version the update is based on: a record changed by someone else since is CONFLICT.
    if_match: str | None = None
    external_id: tuple[str, str] | None = None
    #: The values of ``fields`` the update is based on (the remote's as last synced), by field.
    #: A remote whose versions are timestamps (``Capabilities.row_versions`` False) cannot tell
    #: from the version alone whether a change stamped with ``if_match`` itself came before or
    #: after the read: it compares the record's current values with these, and only a field
    #: someone else changed since (current differs from both this and the value being written)
    #: is a CONFLICT. None: nothing known, any foreign change at that stamp is a CONFLICT.
    expected: Mapping[str, Any] | None = None


class WriteStatus(StrEnum):
    """Outcome of one outbound record."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Exactly one per outbound record, in input order, with its ``ref`` echoed.

    ``refused`` names fields the remote refused for reasons of their own. On a failed result:
    the record failed because of them alone (the connector's error says so), so it may go
    through without them. On a result that went through: the fields left out of what was
    written (jobs.refusals resends a record without them).
    """

    ref: str
    status: WriteStatus
    key: str | None = None
    version: str | None = None
    error: ConnectorError | None = None
    refused: tuple[FieldRefusal, ...] = ()

    def __post_init__(self) -> None:
        # A connector states the refusals once, on its error; the result repeats them.
        if not self.refused and self.error is not None and self.error.refused:
            object.__setattr__(self, "refused", self.error.refused)

    @property
    def refused_fields(self) -> list[str]:
        """The names of the refused fields, in the order the remote gave them."""
        return list(dict.fromkeys(refusal.field for refusal in self.refused))

    @property
    def ok(self) -> bool:
        """True unless the record failed."""
        return self.status is not WriteStatus.FAILED


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One remote field as ``describe`` reports it; enough to check a mapping before writing."""

    name: str
    type: str = "string"  # string|text|email|phone|url|picklist|multipicklist|boolean|integer|
    #                       number|date|datetime|id|reference
    label: str = ""
    length: int | None = None
    required: bool = False  # must be given on create (not nillable, no default)
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: tuple[str, ...] = ()
    #: What the remote fills in on create when no value is given (a picklist's default).
    default: Any = None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One remote object: its key field, its change-cursor field and its fields by name."""

    name: str
    key_field: str
    cursor_field: str
    fields: Mapping[str, FieldInfo]
    label: str = ""


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """API calls used against the remote's allowance (Salesforce: rolling 24 hours)."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        """Fraction of the allowance used (0 when the limit is unknown)."""
        return self.used / self.limit if self.limit > 0 else 0.0


@dataclass(frozen=True, slots=True)
class WriteCost:
    """What one ``write`` of many records costs at least: API calls, and Bulk jobs among them."""

    calls: int
    bulk_jobs: int = 0


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a connector can do; the engine and the conformance suite adapt to these flags."""

    deletes_in_feed: bool = True   # deletes arrive as Op.DELETE changes in read_changes
    hard_deletes: bool = False     # read_hard_deletes lists deletes the feed may never show
    sorted_changes: bool = True    # cursors ascend within and across pages
    write: bool = True
    #: An existing record can be changed (by ``write`` with a key, and by the remote's users).
    #: False where a record, once made, stays as made (a Zoom registration): an update that
    #: changes a value is a FAILED VALIDATION result, one repeating the values UNCHANGED.
    update: bool = True
    delete: bool = True
    external_id_upsert: bool = True
    max_batch_size: int = 200      # records per write call (the connector chunks for us)
    lookup_batch_size: int = 200   # values per lookup call
    #: A ``Change.version`` changes on every write (Dataverse's ``versionnumber``, a sequence),
    #: so an equal version means the record holds what we last read or wrote. False where it is
    #: a timestamp (Salesforce's ``SystemModstamp`` has whole seconds): an edit made in the
    #: same second carries the same version, and only its values tell it apart.
    row_versions: bool = False


class Connector(ABC):
    """Base class for every remote system Syncline talks to.

    Contract (the conformance suite in connectors/conformance checks every point):
    - ``read_changes`` is inclusive (cursor >= since) and may repeat records; the engine dedupes.
    - ``write`` returns exactly one result per input, in order; per-record failures are
      results, only batch-level failures (auth, config, transport after retries) raise.
    - an update with ``if_match`` is a CONFLICT result when someone else changed the record
      since that version, never a silent overwrite of their change (see ``expected``).
    - every failure is a :class:`ConnectorError` in the shared vocabulary, secrets redacted.
    - ``api_calls`` counts the remote calls made, so runs can report their cost.
    """

    #: Registry key used in the connections file (``type: memory``).
    type_name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: What its entry of the connections file may say (checked with ``file:line key`` errors).
    settings_model: ClassVar[type[ConnectionSettings]] = ConnectionSettings
    #: Config keys whose values are secrets: never logged, stored or rendered.
    secret_keys: ClassVar[frozenset[str]] = frozenset()
    #: Share of the remote's API allowance above which no cycle starts (None: no budget).
    api_budget: float | None = None

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.name = name
        self.config = dict(config)
        self.api_calls = 0

    @abstractmethod
    def check(self) -> None:
        """Make one cheap authenticated call; raise ConnectorError (AUTH, CONFIG, TRANSIENT)."""

    @abstractmethod
    def describe(self, objects: Sequence[str] | None = None) -> dict[str, ObjectInfo]:
        """Describe the given objects (all known ones when None); unknown object → CONFIG."""

    #: Why ``where`` never reaches this remote (``where_text`` None): a dry run says so.
    where_refused: ClassVar[str] = "this connector reads every change and sends no filter"

    @abstractmethod
    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        """Yield pages of upserts and deletes with cursor >= since (None = everything).

        ``where``: the remote may leave out upserts of records that fail it (a pushed-down
        ``pull_rule``); it must still return every delete and every record carrying a
        ``successor``, which the engine acts on whatever the rule says. A connector that
        cannot send it reads everything (``where_text`` None).
        """

    def where_text(self, object_name: str, where: Filter) -> str | None:
        """The condition ``read_changes`` sends for ``where`` (a dry run prints it); None: none."""
        return None

    @abstractmethod
    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Return live records whose ``field_name`` equals one of ``values``.

        String comparison is case-insensitive, as in SOQL and OData. Used to match records
        before creating them and to re-read records whose sync is retried (by key field).
        """

    @abstractmethod
    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        """Create, update, upsert or delete records; one result per input, in order."""

    def read_hard_deletes(
        self, object_name: str, since: Cursor | None, *, now: datetime | None = None
    ) -> HardDeletes:
        """Keys of records deleted for good since ``since`` (only with ``hard_deletes``).

        For remotes whose feed loses deletes: a purged recycle bin, a hard delete. Inclusive
        like ``read_changes``: a key may come again, and deletes the feed did show may be
        listed too. ``since`` None starts as far back as the remote still lists; ``now`` is
        the caller's clock (the end of what is asked for). Its cursor is its own, never one
        of ``read_changes``.
        """
        raise ConnectorError(
            ErrorKind.CONFIG, f"the {self.type_name} connector cannot list hard deletes"
        )

    def lookup_deleted(self, object_name: str, keys: Sequence[str]) -> list[Change]:
        """Records ``read_hard_deletes`` listed, as the remote has them now (``hard_deletes``).

        A delete still in a recycle bin comes back as ``Op.DELETE`` with its successor (a
        merge's master), a record restored since as ``Op.UPSERT``; a key the remote no longer
        knows at all is left out: that record was deleted for good.
        """
        raise ConnectorError(
            ErrorKind.CONFIG, f"the {self.type_name} connector cannot list hard deletes"
        )

    def usage(self) -> ApiUsage | None:
        """The API allowance as last reported by the remote (no extra call); None if unknown."""
        return None

    def write_cost(self, records: int) -> WriteCost:
        """The least one ``write`` of ``records`` updates costs (a dry run's estimate)."""
        return WriteCost(math.ceil(records / self.capabilities.max_batch_size))

    def read_cost(self, records: int) -> int:
        """The calls ``read_changes`` takes for ``records`` records (a dry run's estimate)."""
        page = getattr(self, "page_size", None)
        return math.ceil(records / page) if isinstance(page, int) and page > 0 else 1

    def ui_url(self, object_name: str, key: str) -> str | None:
        """Link to the record in the remote system's own UI, where the connection knows it."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release sessions; safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never the config: it holds secrets.
        return f"<{type(self).__name__} {self.name!r}>"
