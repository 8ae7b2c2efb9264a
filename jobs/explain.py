"""Why a hub record does or does not sync, per mapping: the one answer every screen renders.

For each mapping of the record's hub object: does the record go out (direction, enabled,
deleted and the ``deletes`` policy, ``sync_rule`` with the failing clauses named, link or
create policy, ``unless_linked_to``), does its remote record come in (direction, link,
``pull_rule`` evaluated on the link's snapshot: no remote call is ever made), its open errors,
and whether a change is waiting for the next cycle (its ``change_seq`` past the push cursor).

:func:`judge` is pure: it decides from facts already loaded. :func:`explain_record` loads those
facts for one record. The person page, the mapping preview and ``syncline explain`` all show
what these return, so they cannot tell an admin different stories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.hubschema import HubSchema
from core.models import HubRecord, Link, SyncError
from jobs.cycle import get_cursor
from jobs.failures import OPEN_STATUSES
from jobs.merge import CONFLICT_PREFIX, PENDING_KEY
from jobs.pull import DIRECTION as PULL_DIRECTION
from jobs.push import DIRECTION as PUSH_DIRECTION
from mappings.explain import Clause, RuleCheck, check_rule, describe
from mappings.expressions import blank
from mappings.spec import Mapping

#: Most open errors one record shows per mapping (the errors page has the rest).
ERRORS_SHOWN = 20


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
    #            create_policy | not_linked | unchanged | pending | up_to_date | open_error |
    #            cycle_error
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
        """The facts of a stored link, its snapshot holding remote field values only.

        Bookkeeping keys (a write in flight, held conflicts) are left out.
        """
        snapshot = {
            key: value
            for key, value in (link.snapshot or {}).items()
            if key != PENDING_KEY and not key.startswith(CONFLICT_PREFIX)
        }
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


# -- the decision ---------------------------------------------------------------------------------


def judge(mapping: Mapping, hub: HubFacts, facts: MappingFacts) -> MappingVerdict:
    """The record's verdict under ``mapping``, from facts already loaded (no I/O)."""
    return MappingVerdict(
        mapping=mapping.name,
        connection=mapping.connection,
        remote_object=mapping.remote_object,
        direction=mapping.direction.value,
        enabled=mapping.enabled,
        link=facts.link,
        outbound=_outbound(mapping, hub, facts),
        inbound=_inbound(mapping, hub, facts),
        errors=facts.errors,
        pending=(hub.change_seq, facts.push_cursor)
        if mapping.direction.pushes and _pending(hub, facts)
        else None,
    )


def _pending(hub: HubFacts, facts: MappingFacts) -> bool:
    return facts.push_cursor is None or hub.change_seq > facts.push_cursor


def _disabled(mapping: Mapping) -> Reason:
    return Reason(
        "disabled",
        f"the mapping {mapping.name} is disabled (enabled: false): nothing syncs through it "
        "until it is enabled",
    )


def _outbound(mapping: Mapping, hub: HubFacts, facts: MappingFacts) -> Flow:
    remote, link = mapping.remote_object, facts.link
    if not mapping.direction.pushes:
        return Flow(
            "out",
            Verdict.NOT_APPLICABLE,
            (
                Reason(
                    "direction",
                    f"direction is {mapping.direction.value}: hub records never go out to "
                    f"{remote} through this mapping",
                ),
            ),
        )
    if not mapping.enabled:
        return Flow("out", Verdict.NO, (_disabled(mapping),))
    if hub.deleted:
        verdict, reasons = _deleted(mapping, link)
    else:
        verdict, reasons = _outbound_live(mapping, hub, facts)
    return _with_state(verdict, reasons, mapping, hub, facts, PUSH_DIRECTION)


def _deleted(mapping: Mapping, link: LinkFacts | None) -> tuple[Verdict, list[Reason]]:
    policy = mapping.deletes.from_hub
    where = f"in {mapping.connection}"
    if link is None:
        text = f"deleted in the hub and never linked to a {mapping.remote_object}: nothing to do"
        return Verdict.NO, [Reason("deleted", text)]
    if policy == "ignore":
        text = (f"deleted in the hub; deletes.from_hub is ignore, so {link.label} stays {where} "
                "as it is")
        return Verdict.NO, [Reason("deleted", text)]
    if policy == "unlink":
        text = (f"deleted in the hub; deletes.from_hub is unlink: the link to {link.label} is "
                f"dropped and the record stays {where}")
        return Verdict.NO, [Reason("deleted", text)]
    text = (f"deleted in the hub; deletes.from_hub is delete_remote: {link.label} is deleted "
            f"{where}")
    return Verdict.YES, [Reason("deleted", text)]


def _rule_reason(check: RuleCheck, consequence: str) -> Reason:
    if check.error is not None:
        return Reason(
            check.rule,
            f"the {check.rule} `{check.source}` fails for this record, so {consequence}",
            check.clauses,
        )
    return Reason(
        check.rule, f"the {check.rule} `{check.source}` is false, so {consequence}", check.clauses
    )


def _outbound_live(
    mapping: Mapping, hub: HubFacts, facts: MappingFacts
) -> tuple[Verdict, list[Reason]]:
    remote, link = mapping.remote_object, facts.link
    check = check_rule("sync_rule", mapping.sync_rule, hub.values)
    if not check.passed:
        reasons = [_rule_reason(check, "it does not go out")]
        if link is not None:
            reasons.append(
                Reason("linked", f"{link.label} stays linked and keeps the values last sent")
            )
        return Verdict.NO, reasons
    if link is not None:
        return Verdict.YES, [Reason("linked", f"linked to {link.label}: its changes go out as "
                                               "updates")]
    if facts.taken_over:
        other = facts.taken_over[0]
        text = (f"linked to {other.label}, and create.unless_linked_to names "
                f"{other.remote_object}: no {remote} is matched or created for it")
        return Verdict.NO, [Reason("taken_over", text)]
    matched_on = _match_description(mapping, hub)
    if not mapping.create.remote and mapping.create.hub and mapping.direction.pulls:
        text = (f"not linked to a {remote}, and create.remote is false: none is created for "
                f"it; it is linked only when a {remote} with {matched_on} is read from "
                f"{mapping.connection}")
        return Verdict.NO, [Reason("create_policy", text)]
    if mapping.create.remote:
        text = (f"not linked yet: the next push looks for a {remote} with {matched_on} and "
                "links it, or creates one")
        return Verdict.YES, [Reason("not_linked", text)]
    text = (f"not linked yet: the next push links a {remote} with {matched_on} if "
            f"{mapping.connection} has one; create.remote is false, so none is created")
    return Verdict.UNKNOWN, [Reason("create_policy", text)]


def _match_description(mapping: Mapping, hub: HubFacts) -> str:
    """``email 'ann@example.com'``: what the match looks for (the identity's match fields)."""
    parts = []
    for name in mapping.identity.match:
        value = hub.values.get(name)
        parts.append(f"a matching {name} (this record has none)" if blank(value)
                     else f"{name} {describe(value)}")
    return " or ".join(parts) or "a matching identity"


def _with_state(
    verdict: Verdict,
    reasons: list[Reason],
    mapping: Mapping,
    hub: HubFacts,
    facts: MappingFacts,
    direction: str,
) -> Flow:
    """Add what the stored state says: a change waiting to go, errors keeping it back."""
    failed = [e for e in facts.errors if e.level == "record" and e.direction == direction]
    if direction == PUSH_DIRECTION and verdict is not Verdict.NO:
        verdict = _push_state(verdict, reasons, mapping, hub, facts, stuck=bool(failed))
    way = "push" if direction == PUSH_DIRECTION else "pull"
    for error in failed:
        verdict = Verdict.NO
        reasons.append(Reason("open_error", f"the last {way} failed: {error.sentence}"))
    for error in facts.errors:
        if error.level == "job":
            # A cycle that stopped (the brake, the API budget, a login failure) moves nothing.
            verdict = Verdict.NO
            reasons.append(
                Reason("cycle_error", f"the last cycle of {mapping.name} stopped: {error.sentence}")
            )
    return Flow("out" if direction == PUSH_DIRECTION else "in", verdict, tuple(reasons))


def _push_state(
    verdict: Verdict,
    reasons: list[Reason],
    mapping: Mapping,
    hub: HubFacts,
    facts: MappingFacts,
    *,
    stuck: bool,
) -> Verdict:
    """Whether a change waits for the next push, or the last push already decided."""
    cursor, seq = facts.push_cursor, hub.change_seq
    if _pending(hub, facts):
        pushed = "has not pushed anything yet" if cursor is None else f"has pushed up to {cursor}"
        reasons.append(
            Reason(
                "pending",
                f"waiting for the next cycle: its change {seq} is newer than what "
                f"{mapping.name} {pushed}",
            )
        )
        return verdict
    if facts.link is not None or hub.deleted:
        reasons.append(
            Reason("up_to_date", f"nothing waiting: {mapping.name} has pushed up to {cursor}, "
                                 f"past its last change {seq}")
        )
        return verdict
    if stuck:
        return verdict  # its open error says why; due retries are pushed again by themselves
    # The push only looks at records that changed since its cursor: the cycle that saw this
    # one's last change left it out (the rule or the mapping said otherwise then, or no match).
    reasons.append(
        Reason(
            "unchanged",
            f"it has not changed since {mapping.name} last looked at it (change {seq}, pushed "
            f"up to {cursor}) and it was not sent then: it goes out at its next change",
        )
    )
    return Verdict.NO


def _inbound(mapping: Mapping, hub: HubFacts, facts: MappingFacts) -> Flow:
    remote, link = mapping.remote_object, facts.link
    if not mapping.direction.pulls:
        return Flow(
            "in",
            Verdict.NOT_APPLICABLE,
            (
                Reason(
                    "direction",
                    f"direction is {mapping.direction.value}: {remote} records never come into "
                    "the hub through this mapping",
                ),
            ),
        )
    if not mapping.enabled:
        return Flow("in", Verdict.NO, (_disabled(mapping),))
    if link is None:
        text = (f"not linked to a {remote}: nothing comes in for it until a {remote} with "
                f"{_match_description(mapping, hub)} is read from {mapping.connection}")
        return _with_state(Verdict.NO, [Reason("not_linked", text)], mapping, hub, facts,
                           PULL_DIRECTION)
    if hub.deleted:
        text = f"deleted in the hub: changes to {link.label} are not brought back"
        return _with_state(Verdict.NO, [Reason("deleted", text)], mapping, hub, facts,
                           PULL_DIRECTION)
    snapshot = link.snapshot or {}
    check = check_rule("pull_rule", mapping.pull_rule, snapshot, known=snapshot.keys())
    if check.passed is None:
        names = ", ".join(check.unknown)
        text = (f"the pull_rule `{check.source}` reads {names}, which the last sync of "
                f"{link.label} did not keep: it is checked when the record next changes in "
                f"{mapping.connection}")
        verdict, reasons = Verdict.UNKNOWN, [Reason("pull_rule", text)]
    elif not check.passed:
        consequence = f"changes to {link.label} do not come in (checked on its last-synced values)"
        verdict, reasons = Verdict.NO, [_rule_reason(check, consequence)]
    else:
        verdict = Verdict.YES
        reasons = [Reason("linked", f"linked to {link.label}: its changes come in")]
    return _with_state(verdict, reasons, mapping, hub, facts, PULL_DIRECTION)


# -- loading the facts ----------------------------------------------------------------------------


def hub_facts(schema: HubSchema, hub_object: str, record: HubRecord) -> HubFacts:
    """The record as rules see it (custom fields included)."""
    return HubFacts(
        hub_object=hub_object,
        hub_id=record.id,
        values=schema.values(record),
        change_seq=record.change_seq,
        deleted=record.deleted_at is not None,
    )


def explain_record(
    session: Session,
    mappings: dict[str, Mapping],
    schema: HubSchema,
    hub_object: str,
    record: HubRecord,
) -> RecordExplanation:
    """Load what each mapping of ``hub_object`` knows about ``record``, and judge it."""
    hub = hub_facts(schema, hub_object, record)
    chosen = sorted(
        (m for m in mappings.values() if m.hub_object == hub_object), key=lambda m: m.name
    )
    links = list(
        session.exec(select(Link).where(Link.hub_object == hub_object, Link.hub_id == record.id))
    )
    errors = _open_errors(session, [m.name for m in chosen], record, links)
    verdicts = []
    for mapping in chosen:
        facts = _mapping_facts(session, mapping, links, errors.get(mapping.name, []))
        verdicts.append(judge(mapping, hub, facts))
    return RecordExplanation(hub, tuple(verdicts))


def _mapping_facts(
    session: Session, mapping: Mapping, links: Sequence[Link], errors: Sequence[SyncError]
) -> MappingFacts:
    mine = next(
        (
            LinkFacts.of(link)
            for link in links
            if link.connection == mapping.connection and link.remote_object == mapping.remote_object
        ),
        None,
    )
    taken = tuple(
        LinkFacts.of(link)
        for link in links
        if link.connection == mapping.connection
        and link.remote_object in mapping.create.unless_linked_to
    )
    cursor = get_cursor(session, mapping.name, PUSH_DIRECTION)
    return MappingFacts(
        link=mine,
        taken_over=taken,
        push_cursor=int(cursor) if cursor is not None else None,
        errors=tuple(ErrorFacts.of(e) for e in errors[:ERRORS_SHOWN]),
    )


def _open_errors(
    session: Session, names: Iterable[str], record: HubRecord, links: Sequence[Link]
) -> dict[str, list[SyncError]]:
    """Open errors of these mappings about the record, and their open job-level errors.

    About the record means by hub id, by its email, or by a remote id it is linked to.
    """
    names = list(names)
    if not names:
        return {}
    about = [SyncError.hub_id == record.id, SyncError.level == "job"]
    email = getattr(record, "email", None)
    if email:
        about.append(SyncError.email == email)
    remote_ids = sorted({link.remote_id for link in links})
    if remote_ids:
        about.append(col(SyncError.remote_id).in_(remote_ids))
    rows = session.exec(
        select(SyncError)
        .where(
            col(SyncError.mapping).in_(names),
            col(SyncError.status).in_(OPEN_STATUSES),
            or_(*about),
        )
        .order_by(col(SyncError.last_seen).desc(), col(SyncError.id).desc())
    )
    found: dict[str, list[SyncError]] = {}
    for row in rows:
        found.setdefault(row.mapping, []).append(row)
    return found
