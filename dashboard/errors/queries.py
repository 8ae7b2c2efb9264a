"""The errors pages' filter: request arguments in, a checked ``jobs.triage.ErrorFilter`` out.

The list, the grouped view, the CSV export and the bulk actions all read the same arguments
(``mapping``, ``direction``, ``level``, ``kind``, ``code``, ``field``, ``status``, ``from``,
``to``, ``q``), so a link or a form built from one page means the same errors on the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from connectors.errors import ErrorKind
from jobs.failures import ERROR_STATUSES, OPEN_STATUSES
from jobs.triage import BLANK, Cause, ErrorFilter

DIRECTIONS = ("to_hub", "to_remote", "cycle")
LEVELS = ("record", "job")
KINDS = tuple(kind.value for kind in ErrorKind)
#: Longest value a text criterion may have (the widest column it is compared with).
MAX_TEXT = 255
#: Dataclass field → request argument, where they differ (``from`` is a Python keyword).
_ARG_NAMES = {"since": "from", "until": "to"}


class FilterError(ValueError):
    """Filter arguments that cannot be understood; ``problems`` names each argument and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ErrorQuery:
    """The filter as the form holds it: every value a string, "" meaning "any".

    ``status`` is "" (open and retrying), "all", or one status; ``since``/``until`` are ISO
    dates compared with last seen (``until`` includes its whole day).
    """

    mapping: str = ""
    direction: str = ""
    level: str = ""
    kind: str = ""
    code: str = ""
    field: str = ""
    status: str = ""
    since: str = ""
    until: str = ""
    q: str = ""

    def args(self) -> dict[str, str]:
        """The request arguments that reproduce this filter (empty ones left out)."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value:
                out[_ARG_NAMES.get(item.name, item.name)] = value
        return out

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses this filter shows."""
        if self.status == "all":
            return ERROR_STATUSES
        return (self.status,) if self.status else OPEN_STATUSES

    @property
    def narrowed(self) -> bool:
        """Does it name which errors, beyond status and dates (what a bulk action requires)?"""
        return any((self.mapping, self.kind, self.code, self.field, self.q))

    def where(self) -> ErrorFilter:
        """The ErrorFilter for these (already checked) values."""
        since = _day(self.since) if self.since else None
        until = _day(self.until) + timedelta(days=1) if self.until else None
        return ErrorFilter(
            mapping=self.mapping or None,
            status=self.statuses,
            kind=self.kind or None,
            code=self.code or None,
            search=self.q or None,
            since=since,
            level=self.level or None,
            direction=self.direction or None,
            field=self.field or None,
            until=until,
        )

    def for_cause(self, cause: Cause) -> ErrorQuery:
        """The same filter narrowed to one cause of the grouped view."""
        return replace(
            self,
            mapping=cause.mapping,
            direction=cause.direction,
            level=cause.level,
            kind=cause.kind,
            code=cause.code or BLANK,
            field=cause.field or BLANK,
        )


def unchecked(args: Mapping[str, str]) -> ErrorQuery:
    """The arguments as typed (cut to MAX_TEXT), to show a refused filter back in its form."""
    return ErrorQuery(**{name: value[:MAX_TEXT] for name, value in _read(args).items()})


def _read(args: Mapping[str, str]) -> dict[str, str]:
    """Each ErrorQuery field's argument, stripped ("" when absent)."""
    return {
        item.name: (args.get(_ARG_NAMES.get(item.name, item.name)) or "").strip()
        for item in fields(ErrorQuery)
    }


def parse(args: Mapping[str, str]) -> ErrorQuery:
    """Read and check the filter arguments; FilterError lists every bad one."""
    values = _read(args)
    problems = [
        f"{_ARG_NAMES.get(attr, attr)}: longer than {MAX_TEXT} characters"
        for attr, value in values.items()
        if len(value) > MAX_TEXT
    ]
    choices = {
        "direction": DIRECTIONS,
        "level": LEVELS,
        "kind": KINDS,
        "status": ("all", *ERROR_STATUSES),
    }
    for name, allowed in choices.items():
        value = values.get(name, "")
        if value and value not in allowed:
            problems.append(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    days = {}
    for attr in ("since", "until"):
        name, value = _ARG_NAMES[attr], values.get(attr, "")
        if not value:
            continue
        try:
            days[attr] = _day(value)
        except ValueError:
            problems.append(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    if "since" in days and "until" in days and days["since"] > days["until"]:
        problems.append(f"from: {values['since']} is after to: {values['until']}")
    if problems:
        raise FilterError(problems)
    return ErrorQuery(**values)


def _day(value: str) -> datetime:
    """Midnight UTC at the start of an ISO date."""
    return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
