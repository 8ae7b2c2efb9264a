"""Fault injection every sandbox shares: latency, 503s, 429s, expired tokens, one-shot faults.

Each sandbox subclasses :class:`FaultsBase` with its own error bodies (what its CRM answers)
and, where its CRM has them, extra faults (Salesforce's row locks).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from flask import Request


@dataclass
class _Injection:
    kind: str
    remaining: int
    retry_after: float | None


#: The one-shot kinds that fail a whole API call.
CALL_KINDS = ("transient", "rate_limited", "auth_expired")
#: A token request refused by a misbehaving proxy (or endpoint) that quotes the request back,
#: credentials included, in the vendor's own error shape.
ECHO_TOKEN_REQUEST = "echo_token_request"
#: The one-shot kinds that change what the token endpoint answers.
TOKEN_KINDS = (ECHO_TOKEN_REQUEST,)


class FaultsBase:
    """What goes wrong, and how slowly: rates rolled on a seeded RNG plus queued one-shot faults.

    Rates are probabilities per call (503, 429). Latencies are milliseconds per call and per
    record (records sent or rows returned).
    """

    #: Kinds accepted by :meth:`inject`.
    FAULT_KINDS: ClassVar[tuple[str, ...]] = (*CALL_KINDS, *TOKEN_KINDS)
    #: Settings accepted by :meth:`configure` (and the control endpoint).
    SETTINGS: ClassVar[tuple[str, ...]] = (
        "latency_ms", "latency_per_record_ms", "rate_503", "rate_429", "retry_after_s", "seed",
    )  # fmt: skip
    #: Settings that are probabilities.
    RATES: ClassVar[tuple[str, ...]] = ("rate_503", "rate_429")

    def __init__(
        self, *, seed: int = 0, sleep: Callable[[float], None] = time.sleep, **settings: float
    ) -> None:
        self._lock = threading.Lock()
        self._sleep = sleep
        self._injections: list[_Injection] = []
        for name in self.SETTINGS:
            setattr(self, name, 1.0 if name == "retry_after_s" else 0.0)
        self.seed = seed
        self._rng = random.Random(seed)
        self.configure(**settings)

    # -- what each CRM answers --------------------------------------------------------------

    def _unavailable(self) -> Exception:
        raise NotImplementedError

    def _unauthenticated(self) -> Exception:
        raise NotImplementedError

    def _throttled(self, retry_after: float) -> Exception:
        raise NotImplementedError

    # -- settings ---------------------------------------------------------------------------

    def configure(self, **settings: float) -> None:
        """Change any of :attr:`SETTINGS`; a new ``seed`` restarts the RNG."""
        unknown = sorted(set(settings) - set(self.SETTINGS))
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        for name, value in settings.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
            if name in self.RATES and value > 1:
                raise ValueError(f"{name} is a probability between 0 and 1, got {value}")
        with self._lock:
            for name, value in settings.items():
                if name == "seed":
                    self.seed = int(value)
                    self._rng = random.Random(self.seed)
                else:
                    setattr(self, name, float(value))

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        """Make the next ``times`` API calls (token requests, for TOKEN_KINDS) fail as ``kind``."""
        if kind not in self.FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {self.FAULT_KINDS}")
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._injections.append(_Injection(kind, times, retry_after))

    def clear(self) -> None:
        """Drop pending one-shot faults and set every rate and latency back to zero."""
        with self._lock:
            self._injections.clear()
        self.configure(**{
            name: 1 if name == "retry_after_s" else 0
            for name in self.SETTINGS if name != "seed"
        }, seed=self.seed)

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a control request (the ``/__sandbox__/faults`` body); returns :meth:`as_dict`.

        The body holds settings, ``inject`` (one or a list of ``{"kind", "times",
        "retry_after"}``) and ``clear: true`` (drop everything first). Bad input raises
        ValueError, TypeError or AttributeError naming what is wrong.
        """
        settings = {key: value for key, value in body.items() if key not in ("inject", "clear")}
        injections = body.get("inject") or []
        if isinstance(injections, dict):
            injections = [injections]
        if body.get("clear"):
            self.clear()
        self.configure(**settings)
        for injection in injections:
            self.inject(
                str(injection.get("kind")),
                int(injection.get("times", 1)),
                injection.get("retry_after"),
            )
        return self.as_dict()

    def _take_injection(self, kinds: tuple[str, ...]) -> _Injection | None:
        """Consume one call of the first pending injection among ``kinds`` (lock held)."""
        for injection in self._injections:
            if injection.kind in kinds:
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.remove(injection)
                return injection
        return None

    # -- per call ---------------------------------------------------------------------------

    def call_fault(self) -> Exception | None:
        """The fault this API call suffers, if any (one-shot injections first, then the rates)."""
        with self._lock:
            injection = self._take_injection(CALL_KINDS)
            if injection is not None:
                if injection.kind == "transient":
                    return self._unavailable()
                if injection.kind == "auth_expired":
                    return self._unauthenticated()
                retry_after = injection.retry_after
                return self._throttled(self.retry_after_s if retry_after is None else retry_after)
            if self.rate_503 and self._rng.random() < self.rate_503:
                return self._unavailable()
            if self.rate_429 and self._rng.random() < self.rate_429:
                return self._throttled(self.retry_after_s)
        return None

    def token_fault(self) -> str | None:
        """The one-shot fault this token request suffers (one of TOKEN_KINDS), if any."""
        with self._lock:
            injection = self._take_injection(TOKEN_KINDS)
        return injection.kind if injection is not None else None

    def sleep_for_call(self) -> None:
        """The fixed latency every API call pays."""
        if self.latency_ms:
            self._sleep(self.latency_ms / 1000)

    def sleep_for_records(self, count: int) -> None:
        """The latency of handling ``count`` records (sent or returned)."""
        if self.latency_per_record_ms and count:
            self._sleep(self.latency_per_record_ms * count / 1000)

    def as_dict(self) -> dict[str, Any]:
        """Current settings and pending injections (for the state endpoint)."""
        with self._lock:
            pending = [
                {"kind": i.kind, "times": i.remaining, "retry_after": i.retry_after}
                for i in self._injections
            ]
        return {name: getattr(self, name) for name in self.SETTINGS} | {"pending": pending}

    # Declared for readers and type checkers; set in __init__ from SETTINGS.
    latency_ms: float
    latency_per_record_ms: float
    rate_503: float
    rate_429: float
    retry_after_s: float


def echoed_request(request: Request) -> str:
    """The request as a misbehaving proxy quotes it: raw body, parsed form, headers.

    The body as it came (form-encoded), the form and the headers as JSON with non-ASCII
    escaped: the shapes a client's credentials come back in from such a proxy.
    """
    body = request.get_data(cache=True, as_text=True)  # first: parsing the form consumes it
    form = json.dumps(request.form.to_dict())
    headers = json.dumps(dict(request.headers.items()))
    return (
        f"upstream refused {request.method} {request.path}; "
        f"body: {body}; form: {form}; headers: {headers}"
    )
