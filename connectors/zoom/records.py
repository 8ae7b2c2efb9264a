"""Zoom's webinars, registrants and report rows as the connector's three objects' fields.

Pure: no calls. Each record's version is a stable hash of its fields, so a record read again
unchanged carries the version it had, and the engine skips it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Change, Op
from connectors.zoom.attendance import ATTENDED, REGISTERED, Attendance
from connectors.zoom.times import iso, parse_time
from core.values import normalise_email

WEBINAR, REGISTRANT, PERSON = "webinar", "registrant", "person"
UPCOMING, ENDED = "upcoming", "ended"

#: What a person typed at registration besides email and names (Zoom's registrant fields).
PROFILE_FIELDS = ("org", "job_title", "phone", "country", "city", "industry")
WEBINAR_FIELDS = ("id", "uuid", "topic", "type", "agenda", "start_time", "duration",
                  "timezone", "join_url", "created_at", "status")
REGISTRANT_FIELDS = ("key", "webinar_id", "registrant_id", "email", "person", "first_name",
                     "last_name", *PROFILE_FIELDS, "create_time", "approval", "join_url",
                     "attendance", "attended", "first_join_time", "minutes_attended", "joins")
PERSON_FIELDS = ("email", "first_name", "last_name", *PROFILE_FIELDS, "last_registered_at")


def version_of(fields: Mapping[str, Any]) -> str:
    """A stable hash of a record's fields (its ``Change.version``)."""
    text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def registrant_key(webinar_id: str | int, registrant_id: str) -> str:
    """``"{webinar_id}:{registrant_id}"``: one registration of one person to one webinar."""
    return f"{webinar_id}:{registrant_id}"


def split_key(key: str) -> tuple[str, str] | None:
    """A registrant key's webinar id and registrant id; None when it is not one."""
    webinar_id, sep, registrant_id = str(key).partition(":")
    if not sep or not webinar_id.isdigit() or not registrant_id:
        return None
    return webinar_id, registrant_id


def webinar_end(row: Mapping[str, Any]) -> datetime | None:
    """When the webinar ends as scheduled (start + duration); None without a start."""
    start = parse_time(row.get("start_time"))
    if start is None:
        return None
    return start + timedelta(minutes=int(row.get("duration") or 0))


def webinar_status(row: Mapping[str, Any], now: datetime) -> str:
    """``upcoming`` while its scheduled end is in the future, else ``ended``."""
    end = webinar_end(row)
    return UPCOMING if end is None or end > now else ENDED


def webinar_change(row: Mapping[str, Any], now: datetime) -> Change:
    """One webinar of the listing as a ``webinar`` record."""
    fields: dict[str, Any] = {
        "id": str(row.get("id")),
        "uuid": row.get("uuid"),
        "topic": row.get("topic"),
        # Zoom's webinar types: 5 a webinar, 6 recurring with no fixed time, 9 recurring.
        "type": int(row["type"]) if row.get("type") is not None else None,
        "agenda": row.get("agenda") or None,
        "start_time": iso(parse_time(row.get("start_time"))),
        "duration": int(row.get("duration") or 0),
        "timezone": row.get("timezone"),
        "join_url": row.get("join_url"),
        "created_at": iso(parse_time(row.get("created_at"))),
        "status": webinar_status(row, now),
    }
    return Change(fields["id"], Op.UPSERT, fields, parse_time(row.get("created_at")),
                  version_of(fields))


def registrant_fields(webinar_id: str, row: Mapping[str, Any], attendance: str = REGISTERED,
                      attended: Attendance | None = None) -> dict[str, Any]:
    """One registrant (Zoom's listing row) and what the report says of them, as fields."""
    registrant_id = str(row.get("id") or row.get("registrant_id") or "")
    email = str(row.get("email") or "")
    fields: dict[str, Any] = {
        "key": registrant_key(webinar_id, registrant_id),
        "webinar_id": webinar_id,
        "registrant_id": registrant_id,
        "email": email,
        "person": normalise_email(email),
        "first_name": row.get("first_name") or None,
        "last_name": row.get("last_name") or None,
        **{name: row.get(name) or None for name in PROFILE_FIELDS},
        "create_time": iso(parse_time(row.get("create_time"))),
        "approval": row.get("status") or "approved",
        "join_url": row.get("join_url") or None,
        "attendance": attendance,
        # Whether they came, as a yes/no a CRM's "responded" takes.
        "attended": attendance == ATTENDED,
        "first_join_time": iso(attended.first_join) if attended else None,
        "minutes_attended": attended.minutes if attended else None,
        "joins": attended.joins if attended else None,
    }
    return fields


def registrant_change(fields: Mapping[str, Any], settled_at: datetime | None = None) -> Change:
    """A registrant's fields as a Change.

    Its ``modified_at`` is when its values last changed in Zoom: the registration, or the
    webinar's end once the report gave its attendance (``settled_at``), which the engine
    weighs against the hub's own changes.
    """
    created = parse_time(fields.get("create_time"))
    changed = max(created, settled_at) if created and settled_at else created or settled_at
    return Change(str(fields["key"]), Op.UPSERT, dict(fields), changed, version_of(fields))


def person_fields(registration: Mapping[str, Any]) -> dict[str, Any]:
    """A person as their registration (registrant fields) says."""
    return {
        "email": registration["person"],
        "first_name": registration.get("first_name"),
        "last_name": registration.get("last_name"),
        **{name: registration.get(name) for name in PROFILE_FIELDS},
        "last_registered_at": registration.get("create_time"),
    }


def latest_registrations(registrations: Iterable[Mapping[str, Any]]) -> dict[str, Mapping]:
    """Each person's latest registration (by create_time, then key), by normalised email."""
    latest: dict[str, Mapping[str, Any]] = {}
    for registration in registrations:
        email = registration.get("person")
        if not email:
            continue
        kept = latest.get(email)
        if kept is None or _order(registration) > _order(kept):
            latest[email] = registration
    return latest


def _order(registration: Mapping[str, Any]) -> tuple[str, str]:
    return (str(registration.get("create_time") or ""), str(registration.get("key") or ""))


def person_change(fields: Mapping[str, Any]) -> Change:
    """A person's fields as a Change."""
    return Change(str(fields["email"]), Op.UPSERT, dict(fields),
                  parse_time(fields.get("last_registered_at")), version_of(fields))


def only(fields: Mapping[str, Any], wanted: Iterable[str] | None, key_field: str) -> dict:
    """``fields`` cut down to ``wanted`` (the key field always kept); all of them when None."""
    if wanted is None:
        return dict(fields)
    names = dict.fromkeys([key_field, *wanted])
    return {name: fields.get(name) for name in names}
