"""What the verdict on a record is made of: the facts it is judged on, and the verdict itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.models import Link, SyncError
from mappings.explain import Clause


class Verdict(StrEnum):
    """Whether a record moves one way under one mapping."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"  # depends on what the remote holds; found out at the next cycle
    NOT_APPLICABLE = "n/a"  # the mapping's direction never moves records this way


@dataclass(frozen=True, slots=True)
class Reason:
    """One fact behind a verdict, as a sentence; a rule's reason carries its failing clauses."""

    code: str  # direction | disabled | deleted | sync_rule | pull_rule | linked | taken_over |
    #            out_of_scope |
    #            create_policy | not_linked | unchanged | pending | up_to_date | open_error |
    #            refused_field | cycle_error
    text: str
    clauses: tuple[Clause, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The reason for ``--json`` output."""
        return {
            "code": self.code,
            "text": self.text,
            "clauses": [clause.as_json() for clause in self.clauses],
        }


#: What each verdict is called, hub → remote ("out") and remote → hub ("in").
HEADLINES = {
    "out": {
        Verdict.YES: "goes out",
        Verdict.NO: "does not go out",
        Verdict.UNKNOWN: "may go out",
        Verdict.NOT_APPLICABLE: "never goes out",
    },
    "in": {
        Verdict.YES: "comes in",
        Verdict.NO: "does not come in",
        Verdict.UNKNOWN: "may come in",
        Verdict.NOT_APPLICABLE: "never comes in",
    },
}


@dataclass(frozen=True, slots=True)
class Flow:
    """The verdict for one direction and every reason behind it, most decisive first."""

    way: str  # out (hub → remote) | in (remote → hub)
    verdict: Verdict
    reasons: tuple[Reason, ...]

    @property
    def headline(self) -> str:
        """``goes out``, ``does not come in``..."""
        return HEADLINES[self.way][self.verdict]

    def as_json(self) -> dict[str, Any]:
        """The flow for ``--json`` output."""
        return {
            "verdict": self.verdict.value,
            "headline": self.headline,
            "reasons": [r.as_json() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """A link of the record to a remote record, with the snapshot's field values."""

    connection: str
    remote_object: str
    remote_id: str
    synced_at: datetime | None = None
    snapshot: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """``Lead 00Q5e00000AbCdE``."""
        return f"{self.remote_object} {self.remote_id}"

    @classmethod
    def of(cls, link: Link) -> LinkFacts:
        """The facts of a stored link (its snapshot holds remote field values only)."""
        snapshot = dict(link.snapshot or {})
        return cls(link.connection, link.remote_object, link.remote_id, link.synced_at, snapshot)


@dataclass(frozen=True, slots=True)
class ErrorFacts:
    """An open sync error that concerns the record (or its whole mapping, level ``job``)."""

    id: int
    direction: str
    level: str
    kind: str
    code: str | None
    message: str
    hint: str | None
    status: str
    attempts: int
    next_retry_at: datetime | None
    field: str | None = None

    @classmethod
    def of(cls, row: SyncError) -> ErrorFacts:
        """The facts of a stored error row."""
        return cls(
            id=row.id or 0,
            direction=row.direction,
            level=row.level,
            kind=row.kind,
            code=row.code,
            message=row.message,
            hint=row.hint,
            status=row.status,
            attempts=row.attempts,
            next_retry_at=row.next_retry_at,
            field=row.field,
        )

    @property
    def sentence(self) -> str:
        """``INVALID_EMAIL_ADDRESS: Email: invalid email address (retrying at ...)``."""
        head = f"{self.code or self.kind}: {self.message}"
        if self.status == "retrying" and self.next_retry_at is not None:
            when = self.next_retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            return f"{head} (retried automatically at {when}, attempt {self.attempts + 1})"
        return f"{head} (waits for a fix; {self.attempts} attempt(s) so far)"

    def as_json(self) -> dict[str, Any]:
        """The error for ``--json`` output."""
        return {
            "id": self.id,
            "direction": self.direction,
            "level": self.level,
            "kind": self.kind,
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
            "status": self.status,
            "attempts": self.attempts,
            "next_retry_at": self.next_retry_at.isoformat() if self.next_retry_at else None,
        }


@dataclass(frozen=True, slots=True)
class HubFacts:
    """The hub record as the rules see it."""

    hub_object: str
    hub_id: str
    values: dict[str, Any]
    change_seq: int
    deleted: bool = False

    @property
    def label(self) -> str:
        """How people know the record: its email, else its name, else its id."""
        for name in ("email", "name"):
            if self.values.get(name):
                return str(self.values[name])
        return self.hub_id


@dataclass(frozen=True, slots=True)
class MappingFacts:
    """What is stored about the record under one mapping."""

    link: LinkFacts | None = None
    #: Links to the remote objects the mapping's ``create.unless_linked_to`` names.
    taken_over: tuple[LinkFacts, ...] = ()
    #: ``push_only_linked`` fields whose record is not linked there: the record is out of
    #: the mapping's scope (a member of a campaign that is no Zoom webinar).
    unlinked_refs: tuple[str, ...] = ()
    #: The last change_seq the mapping pushed (None: it never pushed).
    push_cursor: int | None = None
    errors: tuple[ErrorFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class MappingVerdict:
    """The record under one mapping: out, in, its open errors and a change waiting to go."""

    mapping: str
    connection: str
    remote_object: str
    direction: str
    enabled: bool
    link: LinkFacts | None
    outbound: Flow
    inbound: Flow
    errors: tuple[ErrorFacts, ...]
    #: (the record's change_seq, the push cursor) while a change waits for the next cycle.
    pending: tuple[int, int | None] | None

    def as_json(self) -> dict[str, Any]:
        """The verdict for ``--json`` output."""
        return {
            "mapping": self.mapping,
            "connection": self.connection,
            "remote_object": self.remote_object,
            "direction": self.direction,
            "enabled": self.enabled,
            "link": None
            if self.link is None
            else {
                "remote_object": self.link.remote_object,
                "remote_id": self.link.remote_id,
                "synced_at": self.link.synced_at.isoformat() if self.link.synced_at else None,
            },
            "out": self.outbound.as_json(),
            "in": self.inbound.as_json(),
            "errors": [error.as_json() for error in self.errors],
            "pending": None
            if self.pending is None
            else {"change_seq": self.pending[0], "push_cursor": self.pending[1]},
        }


@dataclass(frozen=True, slots=True)
class RecordExplanation:
    """Every mapping's verdict on one hub record."""

    hub: HubFacts
    mappings: tuple[MappingVerdict, ...]

    def as_json(self) -> dict[str, Any]:
        """The whole explanation for ``syncline explain --json``."""
        return {
            "hub_object": self.hub.hub_object,
            "hub_id": self.hub.hub_id,
            "label": self.hub.label,
            "deleted": self.hub.deleted,
            "change_seq": self.hub.change_seq,
            "mappings": [verdict.as_json() for verdict in self.mappings],
        }
