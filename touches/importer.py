"""``syncline import touches FILE``: touches from a CSV or JSON Lines file, all rows or none.

Columns: ``email`` (a hub person), ``occurred_at`` (ISO 8601; without a zone it is UTC),
``touch_type``, ``campaign`` (a hub campaign's id or name), ``channel``, ``source``, ``medium``,
``utm_campaign``, ``utm_content``, ``utm_term``, ``landing_page`` and ``detail`` (a JSON object;
JSON text in a CSV cell). Every row is checked before anything is written, every problem is
reported as ``file:line column: message``, and a file with any problem writes nothing. Rows
are recorded through touches.record, so importing a file again changes nothing.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import csvfile
from core.db import session
from core.errors import InputError, InputErrors
from core.models import Campaign, Person
from core.people import JSONL_SUFFIXES
from core.values import blank, normalise_email
from touches.programs import Programs
from touches.record import (
    Outcome,
    TouchInput,
    TouchRefusedError,
    natural_key,
    normalised,
    record_touch,
    touches_by_key,
)
from touches.types import TOUCH_TYPES, Origin
from touches.utm import UTM_FIELDS

COLUMNS = (
    "email", "occurred_at", "touch_type", "campaign", "channel", *UTM_FIELDS, "detail",
)
REQUIRED = ("email", "occurred_at", "touch_type")
#: Columns ``syncline export touches`` writes beside ours: hub ids and what recorded a touch.
#: Read back, they are ignored (the hub finds the person by email and the campaign by name), so
#: an exported file imports as it is.
EXPORTED_ONLY = ("id", "person_id", "campaign_id", "origin", "member_id")
BATCH_SIZE = 500
_HUB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ImportReport:
    """What an import did: touches created, updated and left unchanged, and rows read."""

    created: int
    updated: int
    unchanged: int
    rows: int


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    occurred_at: datetime | None = None
    detail: dict[str, Any] | None = None


def parse_time(text: Any) -> datetime:
    """An ISO 8601 date or time as aware UTC (a time without a zone is UTC); ValueError if not."""
    raw = str(text).strip()
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValueError(
                f"{raw!r} is not a date and time (ISO 8601, e.g. 2026-03-01T09:15:00Z)"
            ) from None
        value = datetime(day.year, day.month, day.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Checked:
    """The rows of one file, checked, and every problem found on the way."""

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.rows: list[_Row] = []
        self.errors: list[InputError] = []

    def error(self, line: int, column: str | None, message: str) -> None:
        """Record one problem at ``file:line column``."""
        where = f"{self.file}:{line}" + (f" {column}" if column else "")
        self.errors.append(InputError(where, message))

    def header(self, names: list[str]) -> None:
        """Every CSV column must be one the importer knows; the required ones must be there."""
        present = {name.strip().lower() for name in names if name.strip()}
        for name in names:
            if name.strip() and name.strip().lower() not in (*COLUMNS, *EXPORTED_ONLY):
                self.error(1, None, f"unknown column {name!r} (columns: {', '.join(COLUMNS)})")
        for name in REQUIRED:
            if name not in present:
                self.error(1, None, f"missing column {name!r}: every touch needs one")

    def row(self, line: int, record: dict[str, Any], *, check_keys: bool) -> None:
        """Check one row's own values (the hub's people and campaigns come later)."""
        values: dict[str, Any] = {}
        for name, raw in record.items():
            key = str(name).strip().lower()
            if not key:
                continue
            if key not in COLUMNS:
                if check_keys and key not in EXPORTED_ONLY:
                    self.error(line, str(name), f"unknown column (columns: {', '.join(COLUMNS)})")
                continue
            values[key] = None if blank(raw) else raw
        row = _Row(line, values)
        for name in REQUIRED:
            if values.get(name) is None:
                self.error(line, name, "missing: every touch needs one")
        kind = values.get("touch_type")
        if kind is not None and str(kind).strip().lower() not in TOUCH_TYPES:
            # Said here, with the row's other problems, not only once its person is found.
            self.error(line, "touch_type", f"{str(kind)!r} is not a touch type (allowed: "
                       f"{', '.join(TOUCH_TYPES)})")
        if values.get("occurred_at") is not None:
            try:
                row.occurred_at = parse_time(values["occurred_at"])
            except ValueError as exc:
                self.error(line, "occurred_at", str(exc))
        detail = values.get("detail")
        if detail is not None:
            if isinstance(detail, str):
                try:
                    detail = json.loads(detail)
                except json.JSONDecodeError:
                    self.error(line, "detail", f"{detail!r} is not valid JSON")
                    detail = None
            if detail is not None and not isinstance(detail, dict):
                self.error(line, "detail", 'expected a JSON object ({"key": "value"})')
                detail = None
        row.detail = detail or {}
        self.rows.append(row)


def _read_csv(path: Path, checked: _Checked) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for record in csvfile.read_records(handle, checked.header):
            if record.problem is not None:
                checked.error(record.line, None, record.problem)
            else:
                checked.row(record.line, record.values, check_keys=False)


def _read_jsonl(path: Path, checked: _Checked) -> None:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                checked.error(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(value, dict):
                checked.error(number, None, 'expected a JSON object {"email": ...} on each line')
                continue
            checked.row(number, value, check_keys=True)


def _read(path: Path) -> _Checked:
    checked = _Checked(path)
    reader = _read_jsonl if path.suffix.lower() in JSONL_SUFFIXES else _read_csv
    try:
        reader(path, checked)
    except UnicodeDecodeError as exc:
        checked.errors.append(InputError(checked.file, f"not UTF-8 text ({exc.reason})"))
    except csv.Error as exc:
        checked.errors.append(InputError(checked.file, f"not readable as CSV: {exc}"))
    return checked


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


def _people(db: Session, emails: set[str]) -> dict[str, str]:
    """Email → the live person's id (the oldest, should two share one)."""
    found: dict[str, str] = {}
    for batch in _batches(sorted(emails)):
        query = (
            select(Person.email, Person.id)
            .where(col(Person.email).in_(batch), col(Person.deleted_at).is_(None))
            .order_by(col(Person.created_at), col(Person.id))
        )
        for email, person_id in db.exec(query):
            found.setdefault(email or "", person_id)
    return found


def _campaigns(db: Session, wanted: set[str]) -> dict[str, list[Campaign]]:
    """Campaign id or name (as given, stripped) → the live campaigns it may mean."""
    found: dict[str, list[Campaign]] = {}
    ids = [w for w in wanted if _HUB_ID.match(w.lower())]
    for batch in _batches(sorted(w.lower() for w in ids)):
        for campaign in db.exec(select(Campaign).where(col(Campaign.id).in_(batch))):
            found.setdefault(campaign.id, []).append(campaign)
    names = sorted(w for w in wanted if w.lower() not in found)
    for batch in _batches(names):
        query = select(Campaign).where(
            col(Campaign.name).in_(batch), col(Campaign.deleted_at).is_(None)
        )
        for campaign in db.exec(query):
            found.setdefault(campaign.name or "", []).append(campaign)
    return found


def _resolve(
    db: Session, checked: _Checked, programs: Programs
) -> list[tuple[_Row, TouchInput]]:
    """Each good row as a touch, with its person and campaign found in the hub."""
    emails = {normalise_email(r.values.get("email")) or "" for r in checked.rows}
    people = _people(db, emails - {""})
    wanted = {str(r.values["campaign"]).strip() for r in checked.rows if r.values.get("campaign")}
    campaigns = _campaigns(db, wanted)
    touches: list[tuple[_Row, TouchInput]] = []
    for row in checked.rows:
        email = normalise_email(row.values.get("email"))
        person_id = people.get(email or "")
        if email is not None and person_id is None:
            checked.error(row.line, "email", f"no person in the hub with email {email}")
        campaign: Campaign | None = None
        given = row.values.get("campaign")
        if given is not None:
            text = str(given).strip()
            matches = campaigns.get(text.lower() if _HUB_ID.match(text.lower()) else text, [])
            if not matches:
                checked.error(row.line, "campaign", f"no campaign in the hub with id or name "
                              f"{text!r}")
            elif len(matches) > 1:
                checked.error(row.line, "campaign", f"{len(matches)} campaigns are named "
                              f"{text!r}: give the hub id instead "
                              f"({', '.join(c.id for c in matches)})")
            elif matches[0].deleted_at is not None:
                checked.error(row.line, "campaign", f"campaign {text!r} was deleted")
            else:
                campaign = matches[0]
        if person_id is None or row.occurred_at is None or (given is not None and not campaign):
            continue
        channel = row.values.get("channel")
        known = programs.channel(str(channel)) if channel is not None else None
        if known is not None:
            channel = known.name  # one spelling per channel, the file's
        elif channel is None and campaign is not None:
            found = programs.channel_of(campaign)
            channel = found.name if found is not None else campaign.channel
        touch = TouchInput(
            person_id=person_id,
            occurred_at=row.occurred_at,
            touch_type=str(row.values.get("touch_type") or ""),
            origin=Origin.IMPORT.value,
            campaign_id=campaign.id if campaign is not None else None,
            channel=None if channel is None else str(channel),
            detail=row.detail or {},
            **{name: _text(row.values.get(name)) for name in UTM_FIELDS},
        )
        try:
            normalised(touch, programs.aliases)
        except TouchRefusedError as exc:
            for name, message in exc.problems.items():
                if name != "touch_type":  # already said by the row's own check
                    checked.error(row.line, name, message)
            continue
        touches.append((row, touch))
    return touches


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _key(touch: TouchInput) -> str:
    """The natural key of a touch already checked by ``normalised`` (type in its stored case)."""
    return natural_key(touch.person_id, touch.occurred_at, touch.touch_type.strip().lower(),
                       touch.campaign_id)


def _check_repeats(checked: _Checked, touches: list[tuple[_Row, TouchInput]]) -> None:
    """Two rows of one file that are the same touch: which one is right is the admin's call."""
    first: dict[str, int] = {}
    for row, touch in touches:
        key = _key(touch)
        if key in first:
            checked.error(row.line, "occurred_at", f"the same touch as line {first[key]} "
                          "(same person, time to the second, touch type and campaign)")
        else:
            first[key] = row.line


def import_touches(engine: Engine, path: str | Path, *, programs: Programs) -> ImportReport:
    """Record every touch of a CSV or JSONL file, all or nothing; InputErrors lists problems."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    checked = _read(path)
    counts = {outcome: 0 for outcome in Outcome}
    with session(engine) as db:
        touches = _resolve(db, checked, programs)
        _check_repeats(checked, touches)
        if checked.errors:
            checked.errors.sort(key=lambda e: _line(e.where))
            raise InputErrors(checked.errors)
        for start in range(0, len(touches), BATCH_SIZE):
            # The file holds no touch twice (checked above), so a lookup need not see the
            # batch's own new rows: no flush per row, one change_seq allocation per batch.
            batch = [touch for _, touch in touches[start : start + BATCH_SIZE]]
            known = touches_by_key(db, (_key(touch) for touch in batch))
            with db.no_autoflush:
                for touch in batch:
                    outcome, _ = record_touch(db, touch, aliases=programs.aliases, known=known)
                    counts[outcome] += 1
            db.flush()
    return ImportReport(
        created=counts[Outcome.CREATED], updated=counts[Outcome.UPDATED],
        unchanged=counts[Outcome.UNCHANGED], rows=len(checked.rows),
    )


def _line(where: str) -> int:
    match = re.search(r":(\d+)(?: |$)", where)
    return int(match.group(1)) if match else 0
