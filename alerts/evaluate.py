"""One evaluation of every alert rule: measure, store what started or ended, tell the channels.

The readings and their transitions commit together before anything is sent, and each channel
that accepts a message is recorded in its own short transaction afterwards: a mail server
that hangs never holds a database lock, and a crash between the two re-sends at most the
messages that were in flight, never a whole backlog.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy.engine import Engine

from alerts import conditions, state
from alerts.channels import Channel, DeliveryError
from alerts.messages import FIRING, TEST, Message
from alerts.rules import AlertRules, Condition, Rule, load_alerts
from core.clock import utcnow
from core.db import session as db_session
from core.errors import InputError
from core.logs import event, get_logger
from core.models import AlertState
from jobs.engine import SyncContext

log = get_logger("alerts")

#: How often the scheduler should evaluate the rules: often enough that "rising by 10 within
#: 15 minutes" has samples to compare, rarely enough to cost nothing (a few indexed queries).
EVALUATE_EVERY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Notification:
    """One message offered to one channel, and whether the channel took it."""

    message: Message
    channel: str
    delivered: bool
    error: str | None = None


def dashboard_link(rules: AlertRules, rule: Rule, subject: str) -> str | None:
    """The dashboard page that shows what an alert is about (when dashboard_url is set)."""
    if not rules.dashboard_url:
        return None
    base = rules.dashboard_url
    if rule.condition is Condition.API_USAGE:
        return f"{base}/connections#connection-{quote(subject)}"
    if rule.condition is Condition.ERRORS_RISING:
        cause = rule.cause
        args = {"mapping": subject}
        if cause is not None:
            args |= {k: v for k, v in (("code", cause.code), ("field", cause.field),
                                       ("kind", cause.kind), ("direction", cause.direction)) if v}
        return f"{base}/errors?{urlencode(args)}"
    return f"{base}/runs?{urlencode({'mapping': subject})}"


def _message(rules: AlertRules, rule: Rule, row: AlertState, what: str, now: datetime) -> Message:
    return Message(
        state=what,
        rule=rule.name,
        condition=rule.condition.value,
        subject=row.subject,
        text=row.message or "",
        at=now,
        since=row.since,
        value=row.last_value,
        link=dashboard_link(rules, rule, row.subject),
    )


def deliver(channel: Channel, message: Message) -> Notification:
    """Offer one message to one channel; a failure is logged once, without secrets."""
    try:
        channel.send(message)
    except DeliveryError as exc:
        event(
            log,
            "alert.send_failed",
            logging.WARNING,
            rule=message.rule,
            subject=message.subject,
            state=message.state,
            channel=channel.name,
            error=str(exc),
        )
        return Notification(message, channel.name, False, str(exc))
    event(log, "alert.sent", rule=message.rule, subject=message.subject, state=message.state,
          channel=channel.name)
    return Notification(message, channel.name, True)


def evaluate_alerts(
    engine: Engine,
    rules: AlertRules | str | os.PathLike[str],
    now: datetime | None = None,
    *,
    watched_mappings: Collection[str] | None = None,
) -> list[Notification]:
    """Evaluate every enabled rule at ``now`` and send what each channel is owed.

    ``watched_mappings``: the mappings that run on a schedule (the scheduler passes its
    enabled mappings); else every mapping with a run on record. Returns each message offered
    to a channel; a failed one is offered again at the next evaluation.
    """
    if not isinstance(rules, AlertRules):
        rules = load_alerts(rules)
    now = now or utcnow()
    enabled = [rule for rule in rules.rules if rule.enabled]
    with db_session(engine) as session:
        stored = state.by_rule(session)
        state.forget_rules(session, [rule.name for rule in enabled])
        for rule in enabled:
            previous = stored.get(rule.name, {})
            readings = conditions.measure(
                session, rule, now, watched_mappings=watched_mappings, previous=previous
            )
            for change in state.record(session, rule.name, readings, previous, now):
                level = logging.WARNING if change.state == FIRING else logging.INFO
                event(log, f"alert.{change.state}", level, rule=change.rule,
                      subject=change.subject, message=change.text)
    return _send_owed(engine, rules, enabled, now)


def _send_owed(
    engine: Engine, rules: AlertRules, enabled: list[Rule], now: datetime
) -> list[Notification]:
    """Offer every channel what it is owed; record each message a channel accepted."""
    with db_session(engine) as session:
        rows = state.by_rule(session)  # readable after the commit (expire_on_commit=False)
    sent: list[Notification] = []
    for rule in enabled:
        for row in rows.get(rule.name, {}).values():
            for channel in rules.rule_channels(rule):
                what = state.owed(row, channel.name)
                if what is None:
                    continue
                notification = deliver(channel, _message(rules, rule, row, what, now))
                sent.append(notification)
                if notification.delivered and row.id is not None:
                    state.mark_delivered(engine, row.id, channel.name, what, now)
    return sent


def send_test(channel: Channel, now: datetime | None = None) -> Notification:
    """``syncline alerts test``: one test message to one channel, nothing stored."""
    now = now or utcnow()
    message = Message(
        state=TEST,
        rule="test",
        condition="test",
        subject=channel.name,
        text=f"This is a test of the alert channel {channel.name!r} ({channel.describe()}). "
        "If you can read it, Syncline's alerts will reach you here.",
        at=now,
    )
    return deliver(channel, message)


def alert_job(
    ctx: SyncContext, path: str | os.PathLike[str], *, stopped: Collection[str] = ()
) -> list[Notification]:
    """The scheduler's job: re-read the alerts file and evaluate it against ``ctx``.

    Rules watch ``ctx``'s enabled mappings, plus ``stopped`` ones (their file does not load,
    so they are not syncing: exactly what a staleness rule is for). Re-reading each time means
    an edited file takes effect at the next evaluation; a missing file means no alerts; a
    broken one is logged and leaves the stored state untouched. Database errors propagate, so
    the scheduler's outage handling sees them like any job's.
    """
    if not Path(path).exists():
        return []
    try:
        rules = load_alerts(path)
    except InputError as exc:
        event(log, "alerts.invalid", logging.ERROR, problems=str(exc).replace("\n", "; "))
        return []
    enabled = {name for name, mapping in ctx.mappings.items() if mapping.enabled}
    watched = sorted(enabled | set(stopped))
    return evaluate_alerts(ctx.engine, rules, watched_mappings=watched)
