"""A bug's exception as a job-level error: one clear line for the page, the detail kept apart.

Admins read a crash on the run page and the error page. A database driver's text is no use
there and not safe to show: SQLAlchemy puts the whole statement and its bound parameters (ids,
emails, field values) into ``str(exc)``, and PostgreSQL adds the failing row's values on a
DETAIL line. The message says in words what refused what; the technical detail (exception
types, the statement's verb and table, the last frames of the traceback) is kept beside it
for whoever fixes the bug. Neither carries parameters or secrets.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import SQLModel

from connectors.errors import ErrorKind
from core.db import first_line
from core.redaction import redact
from jobs.failures import Failure

#: Longest message kept: one line on the page.
MESSAGE_LIMIT = 300
#: Frames of the traceback kept in the detail (the innermost ones say where it broke).
FRAMES_KEPT = 8

_ROOT = Path(__file__).resolve().parent.parent
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w., ]+)")
_POSTGRES_CONSTRAINT = re.compile(r'unique constraint "(?P<name>\w+)"')
_STATEMENT = re.compile(
    r"^\s*(?P<verb>INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT)\b(?:\s+(?P<table>[\w.\"]+))?",
    re.IGNORECASE,
)


def crash_failure(exc: BaseException) -> Failure:
    """The job-level error for an unexpected exception that stopped a cycle."""
    return Failure(
        ErrorKind.SYSTEM,
        crash_message(exc),
        code=type(exc).__name__,
        hint="this is a bug in Syncline: the cycle is retried on schedule; if it keeps "
        "failing, report it with the technical detail below",
        detail=crash_detail(exc),
    )


def crash_message(exc: BaseException) -> str:
    """One line saying what went wrong, ending with the exception's type."""
    if isinstance(exc, IntegrityError):
        what = f"the hub database refused a write: {_integrity(exc)}"
    elif isinstance(exc, OperationalError):
        what = f"the hub database could not be used: {_driver_line(exc)}"
    elif isinstance(exc, SQLAlchemyError):
        what = f"the hub database failed: {_driver_line(exc)}"
    else:
        what = f"unexpected error: {first_line(str(exc)) or 'no message'}"
    line = redact(f"{what} ({type(exc).__name__})")
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


def crash_detail(exc: BaseException) -> dict[str, Any]:
    """What a developer needs beside the message: types, statement verb and table, frames."""
    detail: dict[str, Any] = {"exception": f"{type(exc).__module__}.{type(exc).__qualname__}"}
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        if orig is not None:
            detail["driver_error"] = f"{type(orig).__module__}.{type(orig).__qualname__}"
        detail["error"] = redact(_driver_line(exc))
        statement = _statement(getattr(exc, "statement", None))
        if statement:
            detail["statement"] = statement
    else:
        detail["error"] = redact(first_line(str(exc)))[:MESSAGE_LIMIT]
    detail["traceback"] = traceback_tail(exc)
    return detail


def traceback_tail(exc: BaseException) -> list[str]:
    """Where it broke, outermost first, as ``path:line in function`` (never the values).

    The innermost frames of Syncline's own code, then the frame that raised when that is in
    a library: a database error is raised a dozen frames deep inside SQLAlchemy, and those
    frames alone would not say which of our writes it was.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if _ours(frame.filename)][-FRAMES_KEPT:]
    if frames and (not ours or ours[-1] is not frames[-1]):
        ours.append(frames[-1])
    return [f"{_short(frame.filename)}:{frame.lineno} in {frame.name}" for frame in ours]


def _integrity(exc: IntegrityError) -> str:
    """A broken unique key named by its table and columns; other constraints by the driver."""
    text = _driver_line(exc)
    found = _SQLITE_UNIQUE.search(text)
    if found:
        pairs = [c.strip().partition(".") for c in found.group("columns").split(",")]
        return _duplicate(pairs[0][0], [column for _, _, column in pairs], None)
    found = _POSTGRES_CONSTRAINT.search(text)
    if found:
        for table in SQLModel.metadata.tables.values():
            for constraint in table.constraints:
                # PostgreSQL names a primary key <table>_pkey; the models leave it unnamed.
                pkey = isinstance(constraint, PrimaryKeyConstraint) and (
                    found["name"] == f"{table.name}_pkey"
                )
                if pkey or (
                    isinstance(constraint, UniqueConstraint) and constraint.name == found["name"]
                ):
                    columns = [column.name for column in constraint.columns]
                    return _duplicate(table.name, columns, found["name"])
    return text


def _duplicate(table: str, columns: list[str], name: str | None) -> str:
    named = ", ".join(columns[:-1]) + (" and " if len(columns) > 1 else "") + columns[-1]
    key = f" (unique key {name})" if name else ""
    return f"a second {table} row with the same {named} as an existing one{key}"


def _driver_line(exc: SQLAlchemyError) -> str:
    """The driver's own first line: no statement, no parameters, no DETAIL with row values."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return first_line(str(orig if orig is not None else exc).split("[SQL:")[0]) or "no message"


def _statement(statement: str | None) -> str | None:
    """``INSERT INTO link``: what the statement did and where, without its columns or values."""
    found = _STATEMENT.match(statement or "")
    if not found:
        return None
    verb = " ".join(found["verb"].upper().split())
    return f"{verb} {found['table']}" if found["table"] and verb != "SELECT" else verb


def _ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(_ROOT) and "site-packages" not in path.parts


def _short(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(_ROOT))
    except ValueError:
        parts = path.parts
        inside = [i for i, part in enumerate(parts) if part == "site-packages"]
        return "/".join(parts[inside[-1] + 1 :]) if inside else path.name
