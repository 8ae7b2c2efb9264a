"""Fault injection for the Salesforce sandbox: latency, 503s, 429s, row locks, one-shot faults."""

from __future__ import annotations

from sandboxes.faults import FaultsBase
from sandboxes.salesforce.errors import SalesforceError


class FaultError(SalesforceError):
    """A call-level fault: a SalesforceError plus extra response headers (Retry-After)."""

    def __init__(
        self, code: str, message: str, status: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, message, status=status)
        self.headers = dict(headers or {})


def lock_error(record_id: str) -> SalesforceError:
    """The UNABLE_TO_LOCK_ROW error Salesforce reports when another transaction holds a row."""
    return SalesforceError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id}",
    )


def transient_error() -> FaultError:
    return FaultError(
        "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later.", 503
    )


def session_error() -> FaultError:
    return FaultError("INVALID_SESSION_ID", "Session expired or invalid", 401)


def rate_limited_error(retry_after: float) -> FaultError:
    # Salesforce reports every limit as REQUEST_LIMIT_EXCEEDED; the 429 status and the
    # Retry-After header are what tell a throttle apart from the daily limit (a 403).
    seconds = f"{retry_after:g}"
    return FaultError(
        "REQUEST_LIMIT_EXCEEDED",
        f"ConcurrentPerOrgLongTxn Limit exceeded. Retry after {seconds} seconds.",
        429,
        {"Retry-After": seconds},
    )


class Faults(FaultsBase):
    """Salesforce's faults: the shared ones plus row locks (``lock_rate``, ``inject("lock")``).

    ``lock_rate`` is a probability per written record; a "lock" injection applies to write
    calls only: every record of the call fails with UNABLE_TO_LOCK_ROW (a 400 on single-record
    routes).
    """

    FAULT_KINDS = (*FaultsBase.FAULT_KINDS, "lock")
    SETTINGS = (*FaultsBase.SETTINGS[:3], "lock_rate", *FaultsBase.SETTINGS[3:])
    RATES = ("rate_503", "lock_rate", "rate_429")
    lock_rate: float

    def _unavailable(self) -> FaultError:
        return transient_error()

    def _unauthenticated(self) -> FaultError:
        return session_error()

    def _throttled(self, retry_after: float) -> FaultError:
        return rate_limited_error(retry_after)

    def lock_whole_call(self) -> bool:
        """Whether a pending "lock" injection makes every record of this write call fail."""
        with self._lock:
            return self._take_injection(("lock",)) is not None

    def record_locked(self) -> bool:
        """Roll ``lock_rate`` for one written record."""
        with self._lock:
            return bool(self.lock_rate) and self._rng.random() < self.lock_rate
