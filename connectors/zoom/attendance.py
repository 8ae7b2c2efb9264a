"""What a webinar's report says about each registrant: attended, no-show, or not known yet.

Pure: the Zoom connector reads the registrants, the participant report (one row per join: a
person who drops and rejoins appears once per join) and the absentees, and this decides each
person's member status and the facts of their attendance touch. Statuses only move forward
(Invited → Registered → No Show → Attended): a no-show who later watches the recording is
not a no-show again when an older report is read, and an attendee never becomes one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.zoom.times import parse_time
from core.values import normalise_email

INVITED, REGISTERED, NO_SHOW, ATTENDED = "Invited", "Registered", "No Show", "Attended"
#: Member statuses of a webinar, in the order they may move.
STATUS_ORDER = (INVITED, REGISTERED, NO_SHOW, ATTENDED)


def advance(current: str | None, reached: str) -> str:
    """The status after ``reached`` is seen: never back down the order.

    A status outside the order (a CRM's own, such as Responded) is replaced: the webinar's
    facts are the better news about a webinar's member.
    """
    if current in STATUS_ORDER and STATUS_ORDER.index(current) > STATUS_ORDER.index(reached):
        return current
    return reached


@dataclass(frozen=True, slots=True)
class Attendance:
    """One person's attendance: when they first joined and how long they stayed in all."""

    email: str
    first_join: datetime
    minutes: int
    joins: int


def attendance(
    participants: Iterable[Mapping[str, Any]], registrant_emails: Mapping[str, str]
) -> dict[str, Attendance]:
    """Each attendee's first join and total minutes, by normalised email.

    A report row without an email (a guest who joined by phone, or one Zoom left blank) is
    matched through its ``registrant_id``; one matched by neither is left out: it cannot be
    tied to a person.
    """
    first: dict[str, datetime] = {}
    seconds: dict[str, int] = {}
    joins: dict[str, int] = {}
    for row in participants:
        email = normalise_email(row.get("user_email")) or normalise_email(
            registrant_emails.get(str(row.get("registrant_id") or "")))
        joined = parse_time(row.get("join_time"))
        if email is None or joined is None:
            continue
        first[email] = min(first.get(email, joined), joined)
        seconds[email] = seconds.get(email, 0) + max(int(row.get("duration") or 0), 0)
        joins[email] = joins.get(email, 0) + 1
    return {email: Attendance(email, first[email], round(seconds[email] / 60), joins[email])
            for email in first}


def outcomes(
    registrants: Iterable[Mapping[str, Any]],
    participants: Iterable[Mapping[str, Any]] | None,
    absentees: Iterable[Mapping[str, Any]] | None,
) -> tuple[dict[str, str], dict[str, Attendance]]:
    """Each registrant's status after the webinar, and the attendees' attendance.

    ``participants`` None: no report yet, so nobody is a no-show yet (they stay Registered).
    With a report, a registrant absent from it is a no-show, whether or not Zoom's absentee
    list names them (it may lag the report); anyone in the report attended, registered or not.
    """
    emails: dict[str, str] = {}
    for person in registrants:
        email = normalise_email(person.get("email"))
        if email is not None:
            emails[str(person.get("id") or person.get("registrant_id") or email)] = email
    statuses = dict.fromkeys(emails.values(), REGISTERED)
    if participants is None:
        return statuses, {}
    came = attendance(participants, emails)
    for email in statuses:
        statuses[email] = ATTENDED if email in came else NO_SHOW
    for person in absentees or ():
        email = normalise_email(person.get("email"))
        if email is not None and email not in came:
            statuses[email] = NO_SHOW
    for email in came:
        statuses[email] = ATTENDED
    return statuses, came
