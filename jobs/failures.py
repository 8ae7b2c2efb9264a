"""Sync errors: one row per record + cause, retried with backoff when the cause is passing.

A record that fails the same way every cycle updates its row (attempts, last_seen, history)
rather than adding one per cycle; a record that later succeeds resolves its open rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, update
from sqlmodel import Session, col, select

from connectors.errors import ConnectorError, ErrorKind, redact
from core.models import SyncError
from jobs import causes

#: Automatic retries stop after this many attempts; the row stays open for an admin.
MAX_AUTO_ATTEMPTS = 10
#: First automatic retry after this long, doubling each attempt, capped at MAX_BACKOFF.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
#: Attempt history kept per row (the newest ones).
HISTORY_LIMIT = 20

#: Errors someone still has to look at (or that retry by themselves).
OPEN_STATUSES = ("open", "retrying")
#: Every status a sync error can have.
ERROR_STATUSES = (*OPEN_STATUSES, "resolved", "ignored")
#: Job-level codes a completed cycle does not resolve: they report something already over.
KEPT_UNTIL_SEEN = ("DATABASE_UNAVAILABLE",)


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one record, in the shared vocabulary."""

    kind: ErrorKind
    message: str
    code: str | None = None
    field: str | None = None
    hint: str | None = None
    retry_after: float | None = None

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
    if "." in refs.get(field, ""):  # object.field: a hub record with that value must exist
        return Failure(
            ErrorKind.TRANSIENT,
            f"{field}: {why}",
            code="UNRESOLVED_REFERENCE",
            field=field,
            hint=f"retried automatically once the hub has a record whose {refs[field]} "
            "matches; if it never will, this record is not one of ours",
        )
    return Failure(
        ErrorKind.TRANSIENT,
        f"{field}: {why}",
        code="UNRESOLVED_REFERENCE",
        field=field,
        hint=f"retried automatically once the referenced record syncs through mapping "
        f"{refs.get(field, '?')!r}; if it never does, check that mapping's rules",
    )


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

    def _touch(self) -> None:
        """Note that this mapping's errors changed: recount its causes before the commit."""
        self._changed = True
        if not self._hooked:
            event.listen(self.session, "before_commit", self._recount)
            self._hooked = True

    def _recount(self, session: Session) -> None:
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
        row.payload = _redacted(payload) if payload is not None else row.payload
        row.run_id = self.run_id
        if row.status != "ignored":
            if failure.kind.retryable and row.attempts <= MAX_AUTO_ATTEMPTS:
                row.status = "retrying"
                row.next_retry_at = self.now + backoff(row.attempts, failure.retry_after)
            else:
                row.status = "open"
                row.next_retry_at = None
        self.session.add(row)
        self.recorded += 1
        self._touch()
        return row

    def resolve(self, *, hub_ids: Iterable[str] = (), remote_ids: Iterable[str] = ()) -> None:
        """Mark open errors of these records (this mapping and direction) resolved."""
        self._resolve(
            hub_ids,
            remote_ids,
            col(SyncError.direction) == self.direction,
            col(SyncError.level) == "record",
        )

    def resolve_conflicts(
        self, *, hub_ids: Iterable[str] = (), remote_ids: Iterable[str] = ()
    ) -> None:
        """Resolve the settled field conflicts of these records, whichever phase recorded them."""
        self._resolve(hub_ids, remote_ids, col(SyncError.code) == "FIELD_CONFLICT")

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


def _redacted(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in payload.items()}
