"""Measuring each rule's condition in the database, one reading per subject.

Every query is bounded by an index, so an evaluation each minute stays cheap with months of
history: runs are read per mapping, newest first, through ``(mapping, started_at)``; open
errors are summed from ``sync_error_cause`` (a few hundred rows) rather than counted in
``sync_error``; the API allowance is one row per connection.

"Rising by N within M" needs the counts of the last M minutes, which no table keeps: each
evaluation adds one (time, count) sample to the alert's stored state and the rise is measured
from the lowest sample still inside the window.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from alerts.messages import format_span
from alerts.rules import Condition, Rule
from core.clock import as_utc
from core.clock import utc_text as format_time
from core.models import AlertState, ConnectionStatus, ErrorCause, SyncRun
from jobs.failures import OPEN_STATUSES

#: Run statuses of a cycle that did its work (a partial run only had record-level errors).
SUCCEEDED = ("success", "partial")
#: Run statuses of a cycle that did not (crashed: its process died and it was closed later).
FAILED = ("failed", "crashed")
#: Samples kept per alert at most, whatever the evaluation interval.
MAX_SAMPLES = 500
#: Longest run message quoted in an alert.
_QUOTE_CHARS = 300


@dataclass(frozen=True, slots=True)
class Reading:
    """What a rule measured for one subject: does its condition hold, and in words, why."""

    subject: str
    holds: bool
    text: str
    value: float | None = None
    #: The samples to keep for the next evaluation (rules measured over a window).
    samples: list[list[float]] = field(default_factory=list)


def _said(run: SyncRun, noun: str) -> str:
    """``the latest, started <time>, said: <its message>`` (shortened; without one if none)."""
    started = format_time(run.started_at)
    text = " ".join((run.message or "").split())
    if not text:
        return f"{noun} started {started}"
    if len(text) > _QUOTE_CHARS:
        text = text[: _QUOTE_CHARS - 1] + "…"
    return f"{noun}, started {started}, said: {text}"


def run_mappings(session: Session) -> list[str]:
    """Every mapping with a run on record."""
    rows = session.exec(
        select(SyncRun.mapping, func.max(SyncRun.started_at)).group_by(SyncRun.mapping)
    )
    return sorted(name for name, _ in rows)


def latest_runs(session: Session, mapping: str, count: int) -> list[SyncRun]:
    """A mapping's newest finished runs, newest first (one backward index range)."""
    return list(
        session.exec(
            select(SyncRun)
            .where(SyncRun.mapping == mapping, SyncRun.status != "running")
            .order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
            .limit(count)
        )
    )


def _first_run(session: Session, mapping: str, statuses: Sequence[str] = ()) -> SyncRun | None:
    """A mapping's newest run with one of ``statuses``, or its oldest run when none given."""
    statement = select(SyncRun).where(SyncRun.mapping == mapping)
    if statuses:
        statement = statement.where(col(SyncRun.status).in_(statuses)).order_by(
            col(SyncRun.started_at).desc()
        )
    else:
        statement = statement.order_by(col(SyncRun.started_at))
    return session.exec(statement.limit(1)).first()


# -- one function per condition -----------------------------------------------------------------


def _errors_rising(
    session: Session,
    rule: Rule,
    subjects: Collection[str],
    now: datetime,
    previous: Mapping[str, AlertState],
) -> list[Reading]:
    statement = select(ErrorCause.mapping, func.sum(ErrorCause.count)).where(
        col(ErrorCause.status).in_(OPEN_STATUSES), col(ErrorCause.mapping).in_(list(subjects))
    )
    cause = rule.cause
    if cause is not None:
        for column, wanted in (
            (ErrorCause.code, cause.code),
            (ErrorCause.field, cause.field),
            (ErrorCause.kind, cause.kind),
            (ErrorCause.direction, cause.direction),
        ):
            if wanted is not None:
                statement = statement.where(column == wanted)
    counts = {name: int(total or 0) for name, total in session.exec(statement.group_by(
        ErrorCause.mapping))}
    what = f"open errors ({cause.describe()})" if cause else "open errors"
    stamp, cutoff = now.timestamp(), (now - rule.within).timestamp()
    readings = []
    for subject in subjects:
        count = counts.get(subject, 0)
        state = previous.get(subject)
        kept = [s for s in (state.samples if state else []) if s[0] >= cutoff and s[0] < stamp]
        samples = [*kept, [stamp, float(count)]][-MAX_SAMPLES:]
        # The lowest count in the window, and of those the latest: the steepest honest rise.
        base_at, base = min(samples, key=lambda s: (s[1], -s[0]))
        rise = count - int(base)
        ago = format_span(now - datetime.fromtimestamp(base_at, UTC))
        if rise > 0:
            text = f"{subject} has {count} {what}, up {rise} from {int(base)} {ago} earlier"
        else:
            text = f"{subject} has {count} {what}, not rising"
        text += f"; this rule fires when {rule.threshold}."
        readings.append(Reading(subject, rise >= rule.rise, text, float(count), samples))
    return readings


def _failing_runs(
    session: Session, rule: Rule, subjects: Collection[str], now: datetime
) -> list[Reading]:
    readings = []
    for subject in subjects:
        runs = latest_runs(session, subject, rule.runs)
        streak = 0
        for run in runs:
            if run.status not in FAILED:
                break
            streak += 1
        if streak >= rule.runs:
            latest = _said(runs[0], "the latest")
            text = f"{subject} failed its last {streak} runs in a row; {latest}"
        elif runs:
            if streak:
                last = "its last run" if streak == 1 else f"its last {streak} runs in a row"
                text = f"{subject} failed {last}; this rule fires when {rule.threshold}."
            else:
                text = (
                    f"{subject}'s latest run ended {runs[0].status}; this rule fires when "
                    f"{rule.threshold}."
                )
        else:
            text = f"{subject} has no finished run yet."
        readings.append(Reading(subject, streak >= rule.runs, text, float(streak)))
    return readings


def _stale(
    session: Session,
    rule: Rule,
    subjects: Collection[str],
    now: datetime,
    previous: Mapping[str, AlertState],
) -> list[Reading]:
    readings = []
    for subject in subjects:
        success = _first_run(session, subject, SUCCEEDED)
        if success is not None:
            since = as_utc(success.finished_at or success.started_at)
            what = f"last successful run ended {format_time(since)}"
        elif (first := _first_run(session, subject)) is not None:
            since = as_utc(first.started_at)
            what = f"no run has succeeded since the first one, {format_time(since)}"
        else:
            state = previous.get(subject)
            since = as_utc(state.created_at) if state else now
            what = f"it has not run since alerts started watching it, {format_time(since)}"
        age = now - since
        holds = age >= rule.after
        verdict = f"no successful run for {format_span(age)}" if holds else "fresh"
        text = f"{subject}: {verdict} ({what}); this rule fires when {rule.threshold}."
        readings.append(Reading(subject, holds, text, age.total_seconds()))
    return readings


def _api_usage(
    session: Session, rule: Rule, subjects: Collection[str], now: datetime
) -> list[Reading]:
    rows = {
        row.connection: row
        for row in session.exec(
            select(ConnectionStatus).where(col(ConnectionStatus.connection).in_(list(subjects)))
        )
    }
    readings = []
    for subject in subjects:
        row = rows.get(subject)
        if row is None or row.api_used is None or not row.api_limit:
            readings.append(Reading(subject, False, f"{subject} has not reported its API usage."))
            continue
        share = row.api_used / row.api_limit
        seen = f" as reported {format_time(row.usage_at)}" if row.usage_at else ""
        text = (
            f"{subject} has used {row.api_used:,} of its {row.api_limit:,} daily API calls "
            f"({share:.0%}){seen}; this rule fires when {rule.threshold}."
        )
        readings.append(Reading(subject, share >= rule.above, text, share))
    return readings


def _held(status: str) -> Callable[[Session, Rule, Collection[str], datetime], list[Reading]]:
    """A condition that holds while a mapping's latest finished run has ``status``."""

    def measure(
        session: Session, rule: Rule, subjects: Collection[str], now: datetime
    ) -> list[Reading]:
        readings = []
        for subject in subjects:
            runs = latest_runs(session, subject, 1)
            if runs and runs[0].status == status:
                text = f"{subject} is {status}: {_said(runs[0], 'its latest run')}"
                readings.append(Reading(subject, True, text))
            else:
                latest = f"its latest run ended {runs[0].status}" if runs else "it has no run"
                readings.append(Reading(subject, False, f"{subject} is not {status}: {latest}."))
        return readings

    return measure


_SIMPLE = {
    Condition.FAILING_RUNS: _failing_runs,
    Condition.API_USAGE: _api_usage,
    Condition.PAUSED: _held("paused"),
    Condition.BRAKED: _held("braked"),
}


def subjects_of(
    session: Session,
    rule: Rule,
    watched_mappings: Collection[str] | None,
) -> list[str]:
    """What a rule looks at: the names it gives, else the watched mappings, else all known.

    "All known": every connection with a status row; every mapping with a run (or with
    errors, for errors_rising).
    """
    if rule.subjects:
        return sorted(set(rule.subjects))
    if rule.condition.about == "connection":
        return sorted(session.exec(select(ConnectionStatus.connection)))
    if watched_mappings is not None:
        return sorted(watched_mappings)
    found = set(run_mappings(session))
    if rule.condition is Condition.ERRORS_RISING:
        found |= set(session.exec(select(ErrorCause.mapping).distinct()))
    return sorted(found)


def measure(
    session: Session,
    rule: Rule,
    now: datetime,
    *,
    watched_mappings: Collection[str] | None = None,
    previous: Mapping[str, AlertState] | None = None,
) -> list[Reading]:
    """One reading per subject of ``rule`` at ``now``.

    ``watched_mappings``: the mappings the scheduler runs (enabled ones), when known; else
    every mapping with a run on record. ``previous``: this rule's stored state by subject.
    """
    subjects = subjects_of(session, rule, watched_mappings)
    previous = previous or {}
    if rule.condition is Condition.ERRORS_RISING:
        return _errors_rising(session, rule, subjects, now, previous)
    if rule.condition is Condition.STALE:
        return _stale(session, rule, subjects, now, previous)
    return _SIMPLE[rule.condition](session, rule, subjects, now)
