"""One error vocabulary for every connector, with the remote system's own words kept verbatim."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Re-exported for a module that still imports the redactor from here (its home: core.redaction).
from core.redaction import redact as redact


class ErrorKind(StrEnum):
    """What kind of failure this is, which decides who acts on it (engine, admin, nobody)."""

    AUTH = "auth"  # credentials rejected or expired beyond refresh
    CONFIG = "config"  # bad settings, unknown object/field, brake tripped: an admin decides
    RATE_LIMITED = "rate_limited"  # 429 / daily limit: wait (Retry-After) and retry automatically
    TRANSIENT = "transient"  # network, 5xx, row locks: retry automatically with backoff
    VALIDATION = "validation"  # the remote refused the values: fix data or mapping, then retry
    DUPLICATE = "duplicate"  # duplicate rule / unique key on the remote
    CONFLICT = "conflict"  # stale version, or a conflict the mapping says to hold for review
    NOT_FOUND = "not_found"  # the remote record is gone
    PERMISSION = "permission"  # the integration user may not do this
    SYSTEM = "system"  # unexpected: a bug here or there

    @property
    def retryable(self) -> bool:
        """Kinds the engine retries on its own; the rest wait for a fix or a manual retry."""
        return self in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED)


@dataclass(frozen=True, slots=True)
class PicklistRefusal:
    """A value a restricted picklist (option set) refused, and the values it allows."""

    value: Any
    allowed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldRefusal:
    """One field the remote refused for a reason of that field alone, in the remote's words.

    Too long, not in a restricted picklist, not an email address, read-only, not a number:
    the record would have gone through without this field, so it can be sent again without
    it. ``value`` is the value as the engine asked to write it.
    """

    field: str
    message: str
    code: str | None = None
    value: Any = None
    hint: str | None = None
    picklist: PicklistRefusal | None = None


class ConnectorError(Exception):
    """A failure talking to a remote system, classified into the shared vocabulary.

    ``message`` is the remote system's own text (verbatim, secrets redacted); ``hint`` is our
    suggestion for the fix. Both are safe to show on the dashboard once HTML-escaped.
    ``refusal`` says which picklist value was refused, so the engine can fit the hint to the
    mapping's value_map (a connector does not see the mapping). ``refused`` is set only when
    every error of a record names a field refused for a reason of its own: the record failed
    because of those fields and nothing else (see :class:`FieldRefusal`).
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
        refusal: PicklistRefusal | None = None,
        refused: tuple[FieldRefusal, ...] = (),
    ) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.hint = hint
        self.retry_after = retry_after
        self.refusal = refusal
        self.refused = refused

    @property
    def retryable(self) -> bool:
        """True when the engine should retry on its own."""
        return self.kind.retryable

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"[{self.kind}{code}] {self.message}"

    def __repr__(self) -> str:
        return f"ConnectorError({self.kind!s}, {self.message!r}, code={self.code!r})"


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One row of a connector's error table: remote code → kind, plus a hint naming the fix."""

    kind: ErrorKind
    hint: str = ""


def classify(
    table: dict[str, ErrorRule], code: str | None, default: ErrorKind = ErrorKind.SYSTEM
) -> ErrorRule:
    """Look a remote error code up in a connector's table; unknown codes get ``default``."""
    if code and code in table:
        return table[code]
    return ErrorRule(default)


#: How many allowed values and characters of a refused value a hint shows.
_ALLOWED_SHOWN = 12
_VALUE_SHOWN = 60


def shown_value(value: Any) -> str:
    """A value as a hint quotes it: strings in quotes, long ones cut with an ellipsis."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _VALUE_SHOWN else text[: _VALUE_SHOWN - 1] + "…"


def picklist_hint(
    field: str,
    value: Any,
    allowed: Iterable[str],
    taken: Mapping[str, str] | None = None,
    *,
    mapped_from: str | None = None,
) -> str:
    """The fix for a value a restricted picklist refused: a value_map entry to an allowed value.

    ``taken`` maps allowed values to the other value_map key that already targets each: on a
    row that pulls, the mapping validator refuses a second key for one value (a pulled value
    must map back to one hub value), so those are not offered. ``mapped_from`` is the key whose
    entry produced ``value``: that entry is the one to change.
    """
    taken = taken or {}
    allowed = list(allowed)
    free = [option for option in allowed if option not in taken]
    if mapped_from is not None:
        fix = f"change the value_map entry {shown_value(mapped_from)} on {field}"
        subject = shown_value(mapped_from)
    else:
        fix = f"add a value_map entry for {shown_value(value)} on {field}"
        subject = shown_value(value)
    if allowed and not free:
        return (
            f"every value {field} allows is already the target of another value_map key and "
            f"this row pulls, so a second key would be refused: add a picklist value for "
            f"{subject} in the CRM and map {subject} to it, or make the row rule: to_remote"
        )
    if not free:
        return fix
    listed = ", ".join(free[:_ALLOWED_SHOWN])
    if len(free) > _ALLOWED_SHOWN:
        listed += f", … ({len(free) - _ALLOWED_SHOWN} more)"
    hint = f"{fix}; allowed: {listed}"
    used = [option for option in allowed if option in taken]
    if used:
        hint += (
            f" (not {', '.join(used[:_ALLOWED_SHOWN])}: other value_map keys map to "
            f"{'it' if len(used) == 1 else 'them'} and this row pulls)"
        )
    return hint
