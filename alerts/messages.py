"""What an alert says: one message, rendered as an email (subject, body) or a webhook's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.clock import utc_text as format_time
from core.redaction import redact

#: Message states: an alert starting, an alert ending, and ``syncline alerts test``.
FIRING, RESOLVED, TEST = "firing", "resolved", "test"

_FOOTER = (
    "You get one message when an alert starts and one when it ends, never a repeat while it "
    "lasts; the dashboard's overview lists the alerts that hold right now."
)


def format_span(span: timedelta) -> str:
    """A duration in words an admin reads at a glance: ``45 s``, ``12 min``, ``3 h 05 min``."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


@dataclass(frozen=True, slots=True)
class Message:
    """One alert notification: which rule, about what, in which state, and what was measured."""

    state: str  # FIRING | RESOLVED | TEST
    rule: str
    condition: str
    subject: str
    text: str  # what the condition measured, in a sentence
    at: datetime
    since: datetime | None = None
    value: float | None = None
    link: str | None = None

    @property
    def title(self) -> str:
        """The email subject and the first line of a chat message."""
        if self.state == TEST:
            return f"[Syncline] Test message for {self.subject}"
        label = "ALERT" if self.state == FIRING else "RESOLVED"
        return f"[Syncline] {label} {self.rule}: {self.subject}"

    @property
    def status_line(self) -> str:
        """Whether the alert holds, since when, or how long it lasted."""
        if self.state == TEST:
            return f"Test sent at {format_time(self.at)}; no alert is firing because of it."
        if self.state == FIRING:
            return f"Firing since {format_time(self.since or self.at)}."
        if self.since is None:
            return f"Resolved at {format_time(self.at)}."
        lasted = format_span(self.at - self.since)
        began = format_time(self.since)
        return f"Resolved at {format_time(self.at)}, after {lasted} (began {began})."

    def body(self) -> str:
        """The plain-text email body (secrets redacted)."""
        lines = [self.status_line, "", self.text, ""]
        if self.state != TEST:
            lines += [f"Rule: {self.rule} ({self.condition})", f"Subject: {self.subject}"]
        if self.link:
            lines.append(f"Dashboard: {self.link}")
        lines += ["", "-- ", _FOOTER if self.state != TEST else "Sent by syncline alerts test."]
        return redact("\n".join(lines) + "\n")

    def payload(self) -> dict[str, Any]:
        """The webhook body: ``text`` for Slack's and Teams' incoming webhooks, plus the facts.

        Both services show ``text`` and ignore the other keys; a receiver of our own reads the
        ``syncline`` object instead of parsing sentences.
        """
        text = f"{self.title}\n{self.status_line}\n{self.text}"
        if self.link:
            text += f"\n{self.link}"
        return {
            "text": redact(text),
            "syncline": {
                "state": self.state,
                "rule": self.rule,
                "condition": self.condition,
                "subject": self.subject,
                "message": redact(self.text),
                "since": self.since.isoformat() if self.since else None,
                "at": self.at.isoformat(),
                "value": self.value,
                "link": self.link,
            },
        }
