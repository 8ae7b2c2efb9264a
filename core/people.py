"""Bulk import and export of people as CSV or JSON Lines, keyed by normalised email.

An import is checked in full before anything is written: every problem of every row is
reported at once, with its file, line and column, and a file with any problem writes nothing.
The writes then happen in one transaction, so an interrupted import leaves no half of itself.

An export starts with each person's hub ``id``; importing it back keeps those ids (a new hub
restored from an export matches the CRM records that carry the old ids as external ids).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import csvfile
from core.db import session
from core.errors import InputError, InputErrors
from core.hubschema import HubField, HubSchema
from core.models import Account, Person
from core.values import blank, normalise_email

BATCH_SIZE = 500
JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: The hub id column of an export, and what an import reads as one.
ID_COLUMN = "id"
ID_ALIASES = frozenset({"id", "hub_id"})
_HUB_ID = re.compile(r"^[0-9a-f]{32}$")

#: What to do with rows sharing an email: refuse the file, or keep one row of each.
OnDuplicate = Literal["error", "first", "last"]
ON_DUPLICATE: tuple[OnDuplicate, ...] = ("error", "first", "last")

#: Friendly column names (normalised by _key) → hub person field. Field names match as is.
ALIASES = {
    "e_mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "firstname": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "company_name": "company",
    "organization": "company",
    "organisation": "company",
    "job_title": "title",
    "phone_number": "phone",
    "telephone": "phone",
    "state_province": "state",
    "province": "state",
    "country_region": "country",
    "source": "lead_source",
    "stage": "lifecycle_stage",
    "lead_score": "score",
    "unsubscribe": "unsubscribed",
    "opted_out": "unsubscribed",
    "email_opt_out": "unsubscribed",
}

# A pragmatic check, not RFC 5322: something@domain.tld without spaces catches typos and
# shifted columns, which is what an admin needs to hear about before the import runs.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Duplicate:
    """One email on several rows of a file: its lines, and the one imported (None: none)."""

    email: str
    lines: tuple[int, ...]
    kept: int | None


@dataclass(frozen=True)
class ImportReport:
    """What an import did: people created, updated and left unchanged, and data rows read.

    ``duplicates`` lists each email found on several rows and which row was kept.
    """

    created: int
    updated: int
    unchanged: int
    rows: int
    duplicates: tuple[Duplicate, ...] = ()


def _key(name: str) -> str:
    # "E-mail Address " → "e_mail_address": case, spaces and punctuation do not matter.
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _resolve(column: str, fields: dict[str, HubField]) -> str | None:
    key = _key(column)
    if key in ID_ALIASES:
        return ID_COLUMN
    if key in fields:
        return key
    alias = ALIASES.get(key)
    return alias if alias in fields else None


def _is_jsonl(path: Path) -> bool:
    if path.suffix.lower() in JSONL_SUFFIXES:
        return True
    if path.suffix.lower() == ".csv":
        return False
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


class _Validator:
    """Collects the checked, merged rows of one file and every problem found on the way."""

    def __init__(self, path: Path, schema: HubSchema, on_duplicate: OnDuplicate) -> None:
        self.file = str(path)
        self.fields = schema.fields("person")
        self.on_duplicate = on_duplicate
        self.errors: list[InputError] = []
        self.people: dict[str, dict[str, Any]] = {}  # email → the kept row's values
        self.lines: dict[str, list[int]] = {}  # email → every line it is on
        self.kept: dict[str, int] = {}  # email → the line whose values are kept
        self.ids: dict[str, tuple[int, str]] = {}  # email → (line, column) of its given hub id
        self.account_refs: dict[str, tuple[int, str]] = {}  # account id → first (line, column)
        self.rows = 0
        self._columns: dict[str, str | None] = {}  # column as written → field (None: unknown)

    def column(self, name: str, line: int) -> str | None:
        """Map a column to its field, reporting an unknown column once, where first seen."""
        if name not in self._columns:
            field = _resolve(name, self.fields)
            self._columns[name] = field
            if field is None:
                known = ", ".join(self.fields)
                self.error(
                    f"{self.file}:{line}", f"unknown column {name!r} (hub person fields: {known})"
                )
        return self._columns[name]

    def header(self, names: list[str]) -> None:
        """Check a CSV header: every column known, no field given by two columns."""
        seen: dict[str, str] = {}
        for name in names:
            # Spreadsheets often leave empty trailing columns: a blank header is no column.
            if not name.strip():
                continue
            field = self.column(name, 1)
            if field is None:
                continue
            if field in seen:
                self.error(
                    f"{self.file}:1", f"columns {seen[field]!r} and {name!r} both mean {field}"
                )
            seen[field] = name

    def row(self, line: int, record: dict[str, Any]) -> None:
        """Check one row and merge it into the person with the same email."""
        self.rows += 1
        values: dict[str, Any] = {}
        failed: set[str] = set()
        id_column = ""
        for name, raw in record.items():
            if not str(name).strip():
                continue
            field = self.column(str(name), line)
            if field is None or blank(raw):
                continue
            if field == ID_COLUMN:
                id_column = str(name)
                hub_id = str(raw).strip().lower()
                if _HUB_ID.match(hub_id):
                    values[ID_COLUMN] = hub_id
                else:
                    self.error(f"{self.file}:{line} {name}", f"{raw!r} is not a hub id "
                               "(32 hexadecimal characters, as `syncline export people` writes)")
                    failed.add(field)
                continue
            try:
                values[field] = self._coerce(self.fields[field], raw)
            except ValueError as exc:
                self.error(f"{self.file}:{line} {name}", str(exc))
                failed.add(field)
                continue
            if field == "account_id":
                self.account_refs.setdefault(values[field], (line, str(name)))
        email = normalise_email(values.get("email"))
        if email is None:
            if "email" not in failed:
                self.error(f"{self.file}:{line} email", "missing: every row needs an email")
        elif not _EMAIL.match(email):
            self.error(f"{self.file}:{line} email", f"{email!r} is not an email address")
        elif not failed:
            values["email"] = email
            self.lines.setdefault(email, []).append(line)
            # Rows sharing an email would silently overwrite each other: keep the one asked
            # for, or (by default) none, and report them all in finish().
            if email not in self.people or self.on_duplicate == "last":
                self.people[email] = values
                self.kept[email] = line
                self.ids.pop(email, None)
                if ID_COLUMN in values:
                    self.ids[email] = (line, id_column)

    def duplicates(self) -> tuple[Duplicate, ...]:
        """Every email on several rows, with its lines and the row kept (None when refused)."""
        keep = self.on_duplicate != "error"
        return tuple(
            Duplicate(email, tuple(lines), self.kept[email] if keep else None)
            for email, lines in self.lines.items()
            if len(lines) > 1
        )

    def finish(self) -> None:
        """Report one hub id given to two people, and duplicated emails unless one is kept."""
        owners: dict[str, str] = {}
        for email, (line, column) in self.ids.items():
            hub_id = self.people[email][ID_COLUMN]
            other = owners.setdefault(hub_id, email)
            if other != email:
                self.error(f"{self.file}:{line} {column}",
                           f"id {hub_id} is also given to {other} on line {self.ids[other][0]}")
        if self.on_duplicate != "error":
            return
        for duplicate in self.duplicates():
            first, *others = duplicate.lines
            self.error(
                f"{self.file}:{first} email",
                f"{duplicate.email} is also on line{'s' * (len(others) > 1)} "
                f"{', '.join(map(str, others))}: keep one row per email, or choose "
                "--on-duplicate first or last",
            )

    @staticmethod
    def _coerce(field: HubField, raw: Any) -> Any:
        if isinstance(raw, str):
            raw = raw.strip()
            if field.type == "json":
                # A CSV cell holds JSON as text (that is how export_people writes it).
                try:
                    return json.loads(raw)
                except json.JSONDecodeError:
                    raise ValueError(f"{field.name}: {raw!r} is not valid JSON") from None
        try:
            return field.coerce(raw)
        except ValueError as exc:
            # Keep every message in the "field: why" form, even one from deeper down.
            if str(exc).startswith(f"{field.name}: "):
                raise
            raise ValueError(f"{field.name}: {raw!r} is not a valid {field.type}") from None

    def error(self, where: str, message: str) -> None:
        """Record one problem; the import raises them all together at the end."""
        self.errors.append(InputError(where, message))


def _read_csv(handle: TextIO, checked: _Validator) -> None:
    for record in csvfile.read_records(handle, checked.header):
        if record.problem is not None:
            checked.error(f"{checked.file}:{record.line}", record.problem)
        else:
            checked.row(record.line, record.values)


def _read_jsonl(handle: TextIO, checked: _Validator) -> None:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"not valid JSON: {exc.msg} (column {exc.colno})"
            checked.error(f"{checked.file}:{number}", message)
            continue
        if not isinstance(value, dict):
            message = 'expected a JSON object {"email": ...} on each line'
            checked.error(f"{checked.file}:{number}", message)
            continue
        checked.row(number, value)


def _validate(path: Path, schema: HubSchema, on_duplicate: OnDuplicate) -> _Validator:
    checked = _Validator(path, schema, on_duplicate)
    reader = _read_jsonl if _is_jsonl(path) else _read_csv
    # utf-8-sig: Excel writes a byte-order mark at the start of "CSV UTF-8" files.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            reader(handle, checked)
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 text ({exc.reason}); save it as 'CSV UTF-8' and retry"
            checked.error(checked.file, message)
        except csv.Error as exc:
            checked.error(checked.file, f"not readable as CSV: {exc}")
    checked.finish()
    return checked


def _check_accounts(db: Session, checked: _Validator) -> None:
    wanted = list(checked.account_refs)
    for start in range(0, len(wanted), BATCH_SIZE):
        batch = wanted[start : start + BATCH_SIZE]
        found = set(db.exec(select(Account.id).where(col(Account.id).in_(batch))).all())
        for missing in (account for account in batch if account not in found):
            line, column = checked.account_refs[missing]
            checked.error(f"{checked.file}:{line} {column}", f"no account with id {missing!r}")


def _check_ids(db: Session, checked: _Validator) -> None:
    """Given hub ids must be the person with that email, or free for a new person."""
    wanted = list(checked.ids)
    for start in range(0, len(wanted), BATCH_SIZE):
        emails = wanted[start : start + BATCH_SIZE]
        existing = _live_people(db, emails)
        new = {checked.people[e][ID_COLUMN]: e for e in emails if e not in existing}
        taken = {
            person.id: person
            for person in db.exec(select(Person).where(col(Person.id).in_(list(new))))
        }
        for email in emails:
            line, column = checked.ids[email]
            given = checked.people[email][ID_COLUMN]
            where = f"{checked.file}:{line} {column}"
            person = existing.get(email)
            if person is not None and person.id != given:
                checked.error(where, f"the hub's person {email} has id {person.id}, not {given}")
            elif person is None and given in taken:
                other = taken[given]
                whose = "a deleted person" if other.deleted_at else f"person {other.email}"
                checked.error(where, f"id {given} belongs to {whose}, not {email}")


def _live_people(db: Session, emails: list[str]) -> dict[str, Person]:
    query = (
        select(Person)
        .where(col(Person.email).in_(emails), col(Person.deleted_at).is_(None))
        .order_by(col(Person.created_at), col(Person.id))
    )
    found: dict[str, Person] = {}
    for person in db.exec(query):
        # Should the hub hold two live people with one email, update the oldest, every time.
        found.setdefault(person.email or "", person)
    return found


def import_people(
    engine: Engine,
    path: str | Path,
    *,
    schema: HubSchema,
    progress: Callable[[int], None] | None = None,
    on_duplicate: OnDuplicate = "error",
) -> ImportReport:
    """Create or update people from a CSV or JSONL file, all or nothing.

    Every row is checked first; any problem raises InputErrors listing them all and writes
    nothing. Rows sharing an email are such a problem unless ``on_duplicate`` says which
    row to keep (``first`` or ``last``, whole rows). ``progress`` receives the number of
    people written so far after each batch.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    if on_duplicate not in ON_DUPLICATE:
        raise InputError("on_duplicate", f"{on_duplicate!r} is not one of error, first, last")
    checked = _validate(path, schema, on_duplicate)
    created = updated = unchanged = 0
    with session(engine) as db:
        if checked.account_refs:
            _check_accounts(db, checked)
        if checked.ids:
            _check_ids(db, checked)
        if checked.errors:
            raise InputErrors(checked.errors)
        emails = list(checked.people)
        for start in range(0, len(emails), BATCH_SIZE):
            batch = emails[start : start + BATCH_SIZE]
            existing = _live_people(db, batch)
            for email in batch:
                person = existing.get(email)
                values = dict(checked.people[email])
                given_id = values.pop(ID_COLUMN, None)
                if person is None:
                    person = Person(id=given_id) if given_id else Person()
                    db.add(person)
                # A list, not any(generator): set every field, not only those up to a change.
                changed = [schema.set(person, name, value) for name, value in values.items()]
                if email not in existing:
                    created += 1
                elif any(changed):
                    updated += 1
                else:
                    unchanged += 1
            # One flush per batch: one change_seq allocation and bounded memory per 500 people.
            db.flush()
            db.expunge_all()
            if progress is not None:
                progress(start + len(batch))
    return ImportReport(created=created, updated=updated, unchanged=unchanged, rows=checked.rows,
                        duplicates=checked.duplicates())


def _live_people_by_email(db: Session) -> Iterable[Person]:
    query = (
        select(Person)
        .where(col(Person.deleted_at).is_(None))
        .order_by(col(Person.email).nulls_last(), col(Person.id))
        # Stream in chunks (a server-side cursor on PostgreSQL) instead of loading every row.
        .execution_options(yield_per=BATCH_SIZE)
    )
    return db.exec(query)


def export_people(
    engine: Engine,
    out: TextIO,
    *,
    schema: HubSchema,
    fmt: Literal["csv", "jsonl", "json"] = "csv",
) -> int:
    """Write every live person to ``out``, ordered by email; return how many were written.

    The hub id comes first; custom fields are columns (keys) of their own, after the
    standard ones, in schema order.
    """
    if fmt not in ("csv", "jsonl", "json"):
        raise InputError("format", f"unknown export format {fmt!r} (csv, jsonl or json)")
    fields = list(schema.fields("person"))
    names = [ID_COLUMN, *fields]
    count = 0
    writer = csvfile.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(names)
    elif fmt == "json":
        out.write("[")
    with session(engine) as db:
        for person in _live_people_by_email(db):
            values = [person.id, *(schema.get(person, name) for name in fields)]
            if writer is not None:
                writer.writerow([csvfile.cell(value) for value in values])
            else:
                pairs = zip(names, values, strict=True)
                record = {name: csvfile.plain(value) for name, value in pairs}
                text = json.dumps(record, ensure_ascii=False)
                if fmt == "jsonl":
                    out.write(text + "\n")
                else:
                    out.write(("," if count else "") + "\n  " + text)
            count += 1
            if count % BATCH_SIZE == 0:
                db.expunge_all()  # streamed rows are not needed again: free them
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
    return count
