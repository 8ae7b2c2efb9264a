"""Sync errors: one row per record + cause, retried with backoff when the cause is passing.

A record that fails the same way again updates its row (attempts, last_seen, history) rather
than adding one; a record that later succeeds resolves its open rows, and one that fails for
a new cause resolves the row of the cause it no longer has. A record waiting for its automatic
retry is left alone until the retry is due (see ``waiting_retries``), so attempts and the next
retry time on the dashboard are what really happened and what will happen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, or_, update
from sqlmodel import Session, col, select

from connectors.errors import ConnectorError, ErrorKind, FieldRefusal, shown_value
from core.clock import as_utc
from core.models import SyncError
from core.redaction import redact, redact_values
from jobs import causes
from mappings.hints import fit_hint_to_mapping
from mappings.spec import Mapping as MappingSpec

#: The direction of job-level errors: they belong to a whole run, not to one of its phases.
JOB_DIRECTION = "cycle"
#: Automatic retries stop after this many attempts (the first one included); the row then
#: stays open for an admin.
MAX_AUTO_ATTEMPTS = 10
#: First automatic retry after this long, doubling each attempt, capped at MAX_BACKOFF
#: (a longer Retry-After from the remote still wins).
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
#: A record naming another that is not linked yet: retried until that one syncs.
UNRESOLVED_REFERENCE = "UNRESOLVED_REFERENCE"
#: A record naming another that its own mappings keep out: it waits for a fix, not a retry.
REFERENCE_EXCLUDED = "REFERENCE_EXCLUDED"
#: Field conflicts are settled by an edit on either side, never by the record's other fates.
CONFLICT_CODE = "FIELD_CONFLICT"
#: A field the remote refused while the rest of its record went through: settled when that
#: field syncs (``FailureLog.resolve_fields``), never by the record's other fates.
FIELD_REFUSED = "FIELD_REFUSED"
#: An optional reference left blank because the record it names is not linked yet, while the
#: rest of its record went through: retried (the record re-read) until the reference resolves,
#: and settled like a refused field, when that field syncs.
REFERENCE_PENDING = "REFERENCE_PENDING"
#: Codes of rows about one field of a record that went through: they neither say the record
#: failed nor end when it fails for another cause.
FIELD_CODES = (CONFLICT_CODE, FIELD_REFUSED, REFERENCE_PENDING)
#: Attempt history kept per row (the newest ones).
HISTORY_LIMIT = 20

#: Errors someone still has to look at (or that retry by themselves).
OPEN_STATUSES = ("open", "retrying")
#: Every status a sync error can have.
ERROR_STATUSES = (*OPEN_STATUSES, "resolved", "ignored")
#: A stretch the remote no longer lists hard deletes for: some may have been missed.
HARD_DELETE_GAP = "HARD_DELETE_GAP"
#: Job-level codes a completed cycle does not resolve: they report something already over.
KEPT_UNTIL_SEEN = ("DATABASE_UNAVAILABLE", HARD_DELETE_GAP)


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one record, in the shared vocabulary."""

    kind: ErrorKind
    message: str
    code: str | None = None
    field: str | None = None
    hint: str | None = None
    retry_after: float | None = None
    #: Kept beside the error when no payload is given, never the message: a job-level error's
    #: technical detail (shown collapsed), a refused field's value (``{field: value}``).
    detail: Mapping[str, Any] | None = None

    @classmethod
    def from_error(cls, error: ConnectorError) -> Failure:
        """Keep the remote system's own words and our hint."""
        return cls(
            kind=error.kind,
            message=error.message,
            code=error.code,
            field=error.field,
            hint=error.hint,
            retry_after=error.retry_after,
        )


def value_failure(exc: Exception, field: str, source: str) -> Failure:
    """A value a transform or the hub field type rejected: this record fails, not the batch."""
    transform = type(exc).__name__ == "TransformError"
    return Failure(
        ErrorKind.VALIDATION,
        str(exc),
        code="TRANSFORM_FAILED" if transform else "HUB_REJECTED_VALUE",
        field=field,
        hint=f"correct the value in {source}, or adjust this field's transform or value_map "
        "in the mapping file, then retry",
    )


def refused_field(mapping: MappingSpec, refusal: FieldRefusal) -> Failure:
    """The field-level failure of a field the remote refused while its record went through.

    The remote's words, the value (kept as the row's payload, ``{field: value}``), and a hint
    naming both fixes: the remote's side (a picklist value to add, a field to make writable)
    and the hub's (the value to correct), with the value_map entries this mapping can take.
    """
    row = next((r for r in mapping.fields if r.remote == refusal.field), None)
    source = f"{row.hub} in the hub" if row is not None and row.hub else "the value in the hub"
    hint = refusal.hint
    if refusal.picklist is not None:
        fitted = fit_hint_to_mapping(ConnectorError(
            ErrorKind.VALIDATION, refusal.message, field=refusal.field,
            refusal=refusal.picklist), mapping).hint
        hint = (f"add {shown_value(refusal.value)} to the {refusal.field} picklist or fix "
                f"{source}" + (f"; or {fitted}" if fitted else ""))
    elif not hint:
        hint = f"fix {source}, or change how the mapping fills {refusal.field}"
    # The code is ours (it is what marks a field-level error); the remote's own code leads
    # its message, where an admin searching the vendor's documentation looks for it.
    message = refusal.message
    if refusal.code and refusal.code.lower() not in message.lower():
        message = f"{refusal.code}: {message}"
    return Failure(
        ErrorKind.VALIDATION,
        message,
        code=FIELD_REFUSED,
        field=refusal.field,
        hint=f"{hint}. The rest of the record synced; {refusal.field} goes once this is fixed",
        detail={refusal.field: refusal.value},
    )


def field_value_failure(exc: Exception, field: str, value: Any, source: str) -> Failure:
    """A value a transform or the hub refused, left out while the rest of its record syncs.

    Resolved like a field the remote refused: only once that field syncs (see
    :meth:`FailureLog.resolve_fields`), never because the record went through.
    """
    failure = value_failure(exc, field, source)
    return Failure(
        failure.kind,
        failure.message,
        code=FIELD_REFUSED,
        field=field,
        hint=f"{failure.hint}. The rest of the record synced; {field} goes once this is fixed",
        detail={field: value},
    )


def rule_failure(rule: str, exc: Exception) -> Failure:
    """A sync or pull rule that cannot be evaluated for one record fails that record only."""
    return Failure(
        ErrorKind.VALIDATION,
        str(exc),
        code="RULE_FAILED",
        hint=f"the mapping's {rule} cannot be evaluated for this record's values; make the "
        "expression handle them (e.g. with `| default(...)`), then retry",
    )


def unresolved_reference(mapping: Any, field: str, why: str) -> Failure:
    """A record that names another record not linked yet: retried until that one syncs."""
    refs = {row.remote: " or ".join(row.refs) for row in mapping.fields if row.ref}
    lookups = {row.remote: row.lookup_target for row in mapping.fields if row.lookup_target}
    if field in lookups:  # a remote record named by a field value: only an admin can add it
        obj, name = lookups[field]
        return Failure(
            ErrorKind.TRANSIENT,
            f"{field}: {why}",
            code=UNRESOLVED_REFERENCE,
            field=field,
            hint=f"create the {obj} whose {name} is the value this record names (syncline "
            "mappings check lists what is missing); retries find it by themselves",
        )
    if "." in refs.get(field, ""):  # object.field: a hub record with that value must exist
        return Failure(
            ErrorKind.TRANSIENT,
            f"{field}: {why}",
            code=UNRESOLVED_REFERENCE,
            field=field,
            hint=f"this record goes through once the hub has a record whose {refs[field]} "
            "matches; if it never will, this record is not one of ours",
        )
    return Failure(
        ErrorKind.TRANSIENT,
        f"{field}: {why}",
        code=UNRESOLVED_REFERENCE,
        field=field,
        hint=f"this record goes through once the record it refers to syncs through mapping "
        f"{refs.get(field, '?')!r}; if that one has an error of its own, fix that first",
    )


def pending_reference(mapping: Any, field: str, why: str) -> Failure:
    """An optional reference not linked yet: the record went through without it for now."""
    refs = {row.remote: " or ".join(row.refs) for row in mapping.fields if row.ref}
    return Failure(
        ErrorKind.TRANSIENT,
        f"{field}: {why}; the rest of the record synced without it",
        code=REFERENCE_PENDING,
        field=field,
        hint=f"this field fills in once the record it refers to syncs through mapping "
        f"{refs.get(field, '?')!r}; retries re-read this record until then",
    )


#: What ``sync_error.email`` holds.
EMAIL_LIMIT = 255


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Delay before automatic retry number ``attempts`` (1-based); honours Retry-After."""
    delay = min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def fingerprint(
    mapping: str, direction: str, level: str, record: str | None, failure: Failure
) -> str:
    """Identity of "this record failing for this cause" (mapping, direction, record, kind...)."""
    parts = [
        mapping,
        direction,
        level,
        record or "",
        failure.kind,
        failure.code or "",
        failure.field or "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class FailureLog:
    """Records and resolves sync errors for one mapping and direction inside a transaction."""

    def __init__(
        self, session: Session, mapping: str, direction: str, run_id: int | None, now: datetime
    ) -> None:
        self.session = session
        self.mapping = mapping
        self.direction = direction
        self.run_id = run_id
        self.now = now
        self.recorded = 0
        self._changed = False
        self._hooked = False
        # Record key → fingerprints of the causes it failed with in this transaction.
        self._failed: dict[str, set[str]] = {}

    @property
    def _key_column(self) -> Any:
        """The column naming a record on this side: the hub id for pushes, else the remote id."""
        return SyncError.hub_id if self.direction == "to_remote" else SyncError.remote_id

    def _touch(self) -> None:
        """Note that this mapping's errors changed: settle and recount them before the commit."""
        self._changed = True
        if not self._hooked:
            event.listen(self.session, "before_commit", self._before_commit)
            self._hooked = True

    def _before_commit(self, session: Session) -> None:
        self._supersede()
        if self._changed:
            self._changed = False
            causes.recount(session, [self.mapping])

    def record(
        self,
        failure: Failure,
        *,
        hub_object: str | None = None,
        hub_id: str | None = None,
        remote_object: str | None = None,
        remote_id: str | None = None,
        email: str | None = None,
        payload: Mapping[str, Any] | None = None,
        level: str = "record",
    ) -> SyncError:
        """Insert or update the row for this record + cause; schedule a retry when it may pass."""
        # An address as read from the remote, which may be anything (a form's 300 characters):
        # the error must still be recorded, so it keeps what the column holds.
        email = email[:EMAIL_LIMIT] if email else email
        record_key = hub_id if self.direction == "to_remote" else remote_id
        if level == "record" and record_key is None:
            record_key = hub_id or remote_id
        key = fingerprint(self.mapping, self.direction, level, record_key, failure)
        row = self.session.exec(select(SyncError).where(SyncError.fingerprint == key)).first()
        message = redact(failure.message)
        entry = {"at": self.now.isoformat(), "run_id": self.run_id, "message": message[:500]}
        if row is None:
            row = SyncError(
                fingerprint=key,
                mapping=self.mapping,
                direction=self.direction,
                level=level,
                kind=str(failure.kind),
                code=failure.code,
                field=failure.field,
                message=message,
                first_seen=self.now,
                last_seen=self.now,
                attempts=1,
                history=[entry],
            )
        else:
            row.attempts += 1
            row.last_seen = self.now
            row.message = message
            row.history = [*row.history, entry][-HISTORY_LIMIT:]
            row.resolved_at = None
        row.hub_object, row.hub_id = hub_object or row.hub_object, hub_id or row.hub_id
        row.remote_object = remote_object or row.remote_object
        row.remote_id = remote_id or row.remote_id
        row.email = email or row.email
        row.hint = redact(failure.hint) if failure.hint else row.hint
        if payload is None and failure.detail is not None:
            payload = failure.detail
        row.payload = redact_values(dict(payload)) if payload is not None else row.payload
        row.run_id = self.run_id
        if row.status != "ignored":
            if failure.kind.retryable and row.attempts < MAX_AUTO_ATTEMPTS:
                row.status = "retrying"
                row.next_retry_at = self.now + backoff(row.attempts, failure.retry_after)
            else:
                row.status = "open"
                row.next_retry_at = None
                if failure.kind.retryable:  # the cause did not pass: say so, not "retried"
                    row.hint = gave_up_hint(failure.hint)
        if level == "record" and record_key is not None and failure.code not in FIELD_CODES:
            self._failed.setdefault(record_key, set()).add(key)
        self.session.add(row)
        self.recorded += 1
        self._touch()
        return row

    def _supersede(self) -> None:
        """Resolve the rows of causes a record failed with before but not this time.

        A member that waited for its list and now waits for its person has one current cause;
        the older row would otherwise stay due forever and pull the record into every cycle.
        """
        failed, self._failed = self._failed, {}
        if not failed:
            return
        fingerprints = [f for keys in failed.values() for f in keys]
        changed = self.session.exec(  # type: ignore[call-overload]
            update(SyncError)
            .where(
                col(SyncError.mapping) == self.mapping,
                col(SyncError.direction) == self.direction,
                col(SyncError.level) == "record",
                col(SyncError.status).in_(OPEN_STATUSES),
                col(self._key_column).in_(list(failed)),
                col(SyncError.fingerprint).not_in(fingerprints),
                or_(col(SyncError.code).is_(None), col(SyncError.code).not_in(FIELD_CODES)),
            )
            .values(status="resolved", resolved_at=self.now, next_retry_at=None)
        ).rowcount
        if changed:
            self._changed = True

    def resolve(
        self,
        *,
        hub_ids: Iterable[str] = (),
        remote_ids: Iterable[str] = (),
        conflicts: bool = True,
        refused_fields: bool = False,
    ) -> None:
        """Mark open errors of these records (this mapping and direction) resolved.

        ``conflicts=False`` leaves field conflicts open: the record went through, but a held
        conflict on one of its fields still waits for an edit. Refused fields stay open unless
        ``refused_fields``: a record going through says nothing of a field left out of it
        (:meth:`resolve_fields` settles those); a record that is gone ends them all.
        """
        kept = [code for code, keep in ((CONFLICT_CODE, not conflicts),
                                        (FIELD_REFUSED, not refused_fields),
                                        (REFERENCE_PENDING, not refused_fields)) if keep]
        conditions = [col(SyncError.direction) == self.direction, col(SyncError.level) == "record"]
        if kept:
            conditions.append(or_(col(SyncError.code).is_(None), col(SyncError.code).not_in(kept)))
        self._resolve(hub_ids, remote_ids, *conditions)

    def resolve_gone(self, hub_ids: Iterable[str]) -> None:
        """These hub records were deleted: every open error of theirs here ends, both ways.

        A field refused on the way out, a conflict held: nothing is left to fix on a record
        that no longer exists, and an admin should not be sent looking for it.
        """
        self._resolve(hub_ids, (), col(SyncError.level) == "record")

    def resolve_fields(self, synced: Mapping[str, Iterable[str]]) -> None:
        """Resolve the refused-field errors of fields that synced: record key → field names.

        The key is the hub id for pushes, the remote id for pulls. Only those fields' rows
        end; the record's other errors (its other refused fields included) stay as they are.
        One query finds which fields have open refusals at all (usually none), then one
        UPDATE per such field, whatever the number of records.
        """
        by_field: dict[str, list[str]] = {}
        for record_key, names in synced.items():
            for name in names:
                by_field.setdefault(name, []).append(record_key)
        if not by_field:
            return
        refused = self.session.exec(
            select(SyncError.field).distinct().where(
                SyncError.mapping == self.mapping,
                SyncError.direction == self.direction,
                SyncError.level == "record",
                col(SyncError.code).in_((FIELD_REFUSED, REFERENCE_PENDING)),
                col(SyncError.status).in_(OPEN_STATUSES),
                col(SyncError.field).in_(list(by_field)),
            )
        ).all()
        pushes = self.direction == "to_remote"
        for name in refused:
            keys = by_field[str(name)]
            self._resolve(
                keys if pushes else (),
                () if pushes else keys,
                col(SyncError.direction) == self.direction,
                col(SyncError.level) == "record",
                col(SyncError.code).in_((FIELD_REFUSED, REFERENCE_PENDING)),
                col(SyncError.field) == name,
            )

    def wake(self, hub_ids: Any) -> None:
        """The records these hub ids name just linked: their reference errors are due now.

        ``hub_ids`` (a list, or a SELECT of them) are records of this mapping waiting for
        another one, retrying (UNRESOLVED_REFERENCE) or open because that one was kept out
        (REFERENCE_EXCLUDED). The next sweep retries them instead of their backoff, or an
        admin, deciding when.
        """
        waiting = and_(
            col(SyncError.code) == UNRESOLVED_REFERENCE,
            col(SyncError.status) == "retrying",
            col(SyncError.next_retry_at) > self.now,
        )
        excluded = and_(col(SyncError.code) == REFERENCE_EXCLUDED, col(SyncError.status) == "open")
        changed = self.session.exec(  # type: ignore[call-overload]
            update(SyncError)
            .where(
                col(SyncError.mapping) == self.mapping,
                col(SyncError.direction) == self.direction,
                col(SyncError.level) == "record",
                col(SyncError.hub_id).in_(hub_ids),
                or_(waiting, excluded),
            )
            .values(status="retrying", next_retry_at=self.now)
        ).rowcount
        if changed:
            self._touch()

    def resolve_conflicts(
        self, *, hub_ids: Iterable[str] = (), remote_ids: Iterable[str] = ()
    ) -> None:
        """Resolve the settled field conflicts of these records, whichever phase recorded them."""
        self._resolve(hub_ids, remote_ids, col(SyncError.code) == CONFLICT_CODE)

    def resolve_job_errors(self) -> None:
        """A cycle that completed clears the job-level errors an earlier run left.

        Reports of something that already ended (a database outage) stay until an admin has
        seen them: the cycle after it completing says nothing new.
        """
        self._resolve(
            (),
            (),
            col(SyncError.direction) == self.direction,
            col(SyncError.level) == "job",
            col(SyncError.code).is_(None) | col(SyncError.code).not_in(KEPT_UNTIL_SEEN),
            everyone=True,
        )

    def resolve_job_code(self, code: str) -> None:
        """Resolve this mapping's job-level error with ``code`` (its cause is gone)."""
        self._resolve(
            (),
            (),
            col(SyncError.direction) == self.direction,
            col(SyncError.level) == "job",
            col(SyncError.code) == code,
            everyone=True,
        )

    def _resolve(
        self,
        hub_ids: Iterable[str],
        remote_ids: Iterable[str],
        *conditions: Any,
        everyone: bool = False,
    ) -> None:
        """One UPDATE per id column: open errors of this mapping matching ``conditions``."""
        targets = [(SyncError.hub_id, list(hub_ids)), (SyncError.remote_id, list(remote_ids))]
        scopes = [None] if everyone else [(column, ids) for column, ids in targets if ids]
        for scope in scopes:
            where = [
                col(SyncError.mapping) == self.mapping,
                col(SyncError.status).in_(OPEN_STATUSES),
                *conditions,
            ]
            if scope is not None:
                where.append(col(scope[0]).in_(scope[1]))
            changed = self.session.exec(  # type: ignore[call-overload]
                update(SyncError)
                .where(*where)
                .values(status="resolved", resolved_at=self.now, next_retry_at=None)
            ).rowcount
            if changed:
                self._touch()


def gave_up_hint(hint: str | None) -> str:
    """The hint of an error whose automatic retries ran out: the retrying is over, say so."""
    stopped = (
        f"Syncline stopped retrying this by itself after {MAX_AUTO_ATTEMPTS} attempts; "
        "retry it once the cause is gone"
    )
    return f"{stopped}. {redact(hint)}" if hint else stopped


def due_retries(session: Session, mapping: str, direction: str, now: datetime) -> list[SyncError]:
    """Record-level errors of this mapping and direction whose retry time has come."""
    return list(
        session.exec(
            select(SyncError).where(
                SyncError.mapping == mapping,
                SyncError.direction == direction,
                SyncError.level == "record",
                SyncError.status == "retrying",
                col(SyncError.next_retry_at) <= now,
            )
        )
    )


def waiting_retries(session: Session, mapping: str, direction: str, now: datetime) -> set[str]:
    """Records of this mapping and direction whose automatic retry is not due yet.

    A cycle leaves them alone even when they come up again (the push backlog, a re-read at
    an inclusive cursor): attempting them now would count an attempt the backoff did not
    allow and push the next retry out again. Their retry pass picks them up when due.
    """
    column = SyncError.hub_id if direction == "to_remote" else SyncError.remote_id
    return {
        key
        for key in session.exec(
            select(column).where(
                SyncError.mapping == mapping,
                SyncError.direction == direction,
                SyncError.level == "record",
                SyncError.status == "retrying",
                col(SyncError.next_retry_at) > now,
            )
        )
        if key
    }


def open_refusals(
    session: Session, mapping: str, hub_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Hub id → {remote field: value} the remote refused and nobody has fixed or retried yet.

    Sending such a value again would be refused again (one wasted call and one more attempt
    each cycle the record is read or edited); a new value, a mapping that now sends another,
    or an admin's retry (status ``retrying``) lets it go out.
    """
    ids = list(hub_ids)
    if not ids:
        return {}
    found: dict[str, dict[str, Any]] = {}
    rows = session.exec(
        select(SyncError.hub_id, SyncError.field, SyncError.payload).where(
            SyncError.mapping == mapping,
            SyncError.direction == "to_remote",
            SyncError.level == "record",
            SyncError.code == FIELD_REFUSED,
            SyncError.status == "open",
            col(SyncError.hub_id).in_(ids),
        )
    )
    for hub_id, name, payload in rows:
        if hub_id and name and isinstance(payload, dict) and name in payload:
            found.setdefault(hub_id, {})[name] = payload[name]
    return found


def job_retry_at(session: Session, mapping: str, now: datetime) -> datetime | None:
    """When a mapping's job-level error lets its next cycle run, if that is later than ``now``.

    A whole cycle that failed for a passing cause (a 429 with Retry-After, a paused API
    budget, a 503) backs off like a record does: a cycle on the mapping's schedule before
    then would only spend calls the remote asked us not to make, and count an attempt.
    """
    due = session.exec(
        select(func.max(SyncError.next_retry_at)).where(
            SyncError.mapping == mapping,
            SyncError.level == "job",
            SyncError.status == "retrying",
        )
    ).one()
    if due is None:
        return None
    due = as_utc(due)  # SQLite drops the zone
    return due if due > now else None
