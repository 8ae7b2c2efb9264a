"""Fault injection for the Dataverse sandbox: latency, 503s, 429s, expired tokens, one-shots."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandboxes.dynamics.errors import DataverseError

#: Kinds accepted by :meth:`Faults.inject`.
FAULT_KINDS = ("transient", "rate_limited", "auth_expired")

#: Settings accepted by :meth:`Faults.configure` (and the control endpoint).
SETTINGS = ("latency_ms", "latency_per_record_ms", "rate_503", "rate_429", "retry_after_s", "seed")

_RATES = ("rate_503", "rate_429")


class FaultError(DataverseError):
    """A call-level fault: a DataverseError plus extra response headers (Retry-After, ...)."""

    def __init__(
        self, code: str, message: str, status: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, message, status)
        self.headers = dict(headers or {})


def transient_error() -> FaultError:
    return FaultError(
        "0x80040216",
        "The service is temporarily unavailable. Please try again later.",
        503,
    )


def token_error(resource_url: str = "", tenant: str = "") -> FaultError:
    """The 401 Dataverse answers for a missing, unknown or expired bearer token."""
    challenge = (
        'Bearer error="invalid_token", error_description="Error identified in Payload provided '
        'by the user. Error Details: The token is expired or invalid"'
    )
    if tenant:
        challenge += f", authorization_uri=https://login.microsoftonline.com/{tenant}/oauth2/authorize"
    if resource_url:
        challenge += f", resource_id={resource_url}"
    return FaultError(
        "0x80072560",
        "The user is not authenticated: the access token is missing, invalid or expired.",
        401,
        {"WWW-Authenticate": challenge},
    )


def rate_limited_error(retry_after: float) -> FaultError:
    seconds = str(max(1, round(retry_after)))
    return FaultError(
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        429,
        {"Retry-After": seconds},
    )


@dataclass
class _Injection:
    kind: str
    remaining: int
    retry_after: float | None


class Faults:
    """What goes wrong, and how slowly: rates rolled on a seeded RNG plus queued one-shot faults.

    Rates are probabilities per API call (503, 429). Latencies are milliseconds per call and
    per record (records sent or rows returned).
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        latency_per_record_ms: float = 0.0,
        rate_503: float = 0.0,
        rate_429: float = 0.0,
        retry_after_s: float = 1.0,
        seed: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._sleep = sleep
        self._injections: list[_Injection] = []
        self.latency_ms = 0.0
        self.latency_per_record_ms = 0.0
        self.rate_503 = 0.0
        self.rate_429 = 0.0
        self.retry_after_s = 1.0
        self.seed = seed
        self._rng = random.Random(seed)
        self.configure(
            latency_ms=latency_ms,
            latency_per_record_ms=latency_per_record_ms,
            rate_503=rate_503,
            rate_429=rate_429,
            retry_after_s=retry_after_s,
        )

    def configure(self, **settings: float) -> None:
        """Change any of :data:`SETTINGS`; a new ``seed`` restarts the RNG."""
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        for name, value in settings.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
            if name in _RATES and value > 1:
                raise ValueError(f"{name} is a probability between 0 and 1, got {value}")
        with self._lock:
            for name, value in settings.items():
                if name == "seed":
                    self.seed = int(value)
                    self._rng = random.Random(self.seed)
                else:
                    setattr(self, name, float(value))

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        """Make the next ``times`` API calls fail as ``kind`` (see :data:`FAULT_KINDS`)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._injections.append(_Injection(kind, times, retry_after))

    def clear(self) -> None:
        """Drop pending one-shot faults and set every rate and latency back to zero."""
        with self._lock:
            self._injections.clear()
        self.configure(
            latency_ms=0, latency_per_record_ms=0, rate_503=0, rate_429=0, retry_after_s=1,
            seed=self.seed,
        )

    def call_fault(self) -> FaultError | None:
        """The fault this API call suffers, if any (one-shot injections first, then the rates)."""
        with self._lock:
            if self._injections:
                injection = self._injections[0]
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.pop(0)
                if injection.kind == "transient":
                    return transient_error()
                if injection.kind == "auth_expired":
                    return token_error()
                retry_after = injection.retry_after
                return rate_limited_error(
                    self.retry_after_s if retry_after is None else retry_after
                )
            if self.rate_503 and self._rng.random() < self.rate_503:
                return transient_error()
            if self.rate_429 and self._rng.random() < self.rate_429:
                return rate_limited_error(self.retry_after_s)
        return None

    def sleep_for_call(self) -> None:
        """The fixed latency every API call pays."""
        if self.latency_ms:
            self._sleep(self.latency_ms / 1000)

    def sleep_for_records(self, count: int) -> None:
        """The latency of handling ``count`` records (sent or returned)."""
        if self.latency_per_record_ms and count:
            self._sleep(self.latency_per_record_ms * count / 1000)

    def as_dict(self) -> dict:
        """Current settings and pending injections (for the state endpoint)."""
        with self._lock:
            pending = [
                {"kind": i.kind, "times": i.remaining, "retry_after": i.retry_after}
                for i in self._injections
            ]
        return {name: getattr(self, name) for name in SETTINGS} | {"pending": pending}
