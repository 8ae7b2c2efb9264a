"""One retry policy for every connector: retry TRANSIENT and RATE_LIMITED, honour Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connectors.errors import ConnectorError
from core import shutdown
from core.logs import event, get_logger

T = TypeVar("T")

_log = get_logger("retry")


def _sleep(seconds: float) -> None:
    # A backoff may last minutes: a stopping process must not sit it out. shutdown.sleep calls
    # time.sleep when no stop event is bound, so tests may still monkeypatch ``time.sleep``.
    shutdown.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry a remote call.

    By default 5 tries, waiting up to 1, 2, 4 and 8 seconds between them (the wait doubles,
    capped at 120 s): long enough to ride out a brief outage or a 429, short enough not to
    stall a cycle.
    """

    max_tries: int = 5
    initial_wait: float = 1.0
    max_wait: float = 120.0
    sleep: Callable[[float], None] = field(default=_sleep, compare=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) when no Retry-After came.

        Exponential with "equal jitter": half the step is fixed, half random, so clients that
        failed together do not retry together, yet the wait never collapses to zero.
        """
        step = min(self.max_wait, self.initial_wait * 2.0 ** (attempt - 1))
        return step / 2 + random.uniform(0, step / 2)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ConnectorError) and exc.retryable


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy) -> T:
    """Call ``fn``; retry retryable ConnectorErrors, then re-raise the last one unchanged."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            # The server said how long; capping keeps a confused header from parking a job.
            return min(max(float(retry_after), 0.0), policy.max_wait)
        return policy.backoff(state.attempt_number)

    def log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        event(
            _log,
            "retry",
            attempt=state.attempt_number,
            kind=getattr(exc, "kind", None),
            code=getattr(exc, "code", None),
            wait=round(state.upcoming_sleep, 3),
        )

    retrying = Retrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(policy.max_tries),
        wait=wait,
        sleep=policy.sleep,
        before_sleep=log,
        reraise=True,
    )
    return retrying(fn)
