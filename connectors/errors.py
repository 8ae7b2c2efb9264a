"""One error vocabulary for every connector, with the remote system's own words kept verbatim."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


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


class ConnectorError(Exception):
    """A failure talking to a remote system, classified into the shared vocabulary.

    ``message`` is the remote system's own text (verbatim, secrets redacted); ``hint`` is our
    suggestion for the fix. Both are safe to show on the dashboard once HTML-escaped.
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
    ) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.hint = hint
        self.retry_after = retry_after

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


_REDACTED = "***"


class Redactor:
    """Replaces known secret values in any text before it is logged, stored or shown."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (values shorter than 4 characters are ignored)."""
        added = {s for s in secrets if isinstance(s, str) and len(s) >= 4}
        if added - self._secrets:
            self._secrets |= added
            # Longest first so a secret containing another is redacted whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(_REDACTED, text)


#: Process-wide redactor: the connections loader registers every secret it reads, and the
#: log formatter, the error recorder and the dashboard pass text through it.
redact = Redactor()
