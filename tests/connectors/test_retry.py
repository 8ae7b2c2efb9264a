"""The shared retry policy: what is retried, how long it waits, what it raises and logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from connectors.errors import ConnectorError, ErrorKind
from connectors.retry import RetryPolicy, call_with_retry
from connectors.settings import RetrySettings, parse_settings


def failing(*errors: BaseException, result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """A callable raising ``errors`` one per call, then returning ``result``."""
    calls: list[int] = []
    pending = list(errors)

    def fn() -> str:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return result

    return fn, calls


def transient(retry_after: float | None = None) -> ConnectorError:
    return ConnectorError(ErrorKind.TRANSIENT, "503 Service Unavailable", retry_after=retry_after)


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def policy(slept: list[float]) -> RetryPolicy:
    return RetryPolicy(max_tries=4, initial_wait=1.0, max_wait=30.0, sleep=slept.append)


def test_transient_and_rate_limited_are_retried(policy: RetryPolicy, slept: list[float]) -> None:
    fn, calls = failing(transient(), ConnectorError(ErrorKind.RATE_LIMITED, "429", retry_after=3))
    assert call_with_retry(fn, policy) == "ok"
    assert len(calls) == 3
    assert 0.5 <= slept[0] <= 1.0 and slept[1] == 3.0


@pytest.mark.parametrize(
    "kind", [k for k in ErrorKind if k not in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED)]
)
def test_other_kinds_are_raised_at_once(
    policy: RetryPolicy, slept: list[float], kind: ErrorKind
) -> None:
    error = ConnectorError(kind, "no")
    fn, calls = failing(error)
    with pytest.raises(ConnectorError) as info:
        call_with_retry(fn, policy)
    assert info.value is error and len(calls) == 1 and slept == []


def test_other_exceptions_are_not_retried(policy: RetryPolicy) -> None:
    fn, calls = failing(KeyError("bug"))
    with pytest.raises(KeyError):
        call_with_retry(fn, policy)
    assert len(calls) == 1


def test_retry_after_is_capped_at_max_wait(policy: RetryPolicy, slept: list[float]) -> None:
    fn, _ = failing(transient(retry_after=3600))
    call_with_retry(fn, policy)
    assert slept == [30.0]


def test_after_max_tries_the_last_error_is_raised_unchanged(
    policy: RetryPolicy, slept: list[float]
) -> None:
    errors = [transient() for _ in range(10)]
    fn, calls = failing(*errors)
    with pytest.raises(ConnectorError) as info:
        call_with_retry(fn, policy)
    assert info.value is errors[3]
    assert len(calls) == 4 and len(slept) == 3


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(initial_wait=1.0, max_wait=10.0)
    for attempt, (low, high) in {1: (0.5, 1.0), 3: (2.0, 4.0), 8: (5.0, 10.0)}.items():
        waits = {policy.backoff(attempt) for _ in range(50)}
        assert all(low <= w <= high for w in waits)
        assert len(waits) > 1  # jittered


def test_default_sleep_can_be_patched_through_time(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("core.shutdown.time.sleep", slept.append)
    fn, _ = failing(transient(retry_after=2))
    assert call_with_retry(fn, RetryPolicy()) == "ok"
    assert slept == [2.0]


@pytest.fixture
def syncline_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    # core.logs.configure() stops propagation to the root logger: listen on ours directly.
    logger = logging.getLogger("syncline")
    listen = not logger.propagate
    if listen:
        logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="syncline"):
            yield caplog
    finally:
        if listen:
            logger.removeHandler(caplog.handler)


def test_each_retry_is_logged(
    policy: RetryPolicy, syncline_log: pytest.LogCaptureFixture
) -> None:
    fn, _ = failing(transient(retry_after=2), transient(retry_after=5))
    call_with_retry(fn, policy)
    retries = [r for r in syncline_log.records if getattr(r, "event", None) == "retry"]
    assert [r.fields for r in retries] == [  # type: ignore[attr-defined]
        {"attempt": 1, "kind": ErrorKind.TRANSIENT, "code": None, "wait": 2.0},
        {"attempt": 2, "kind": ErrorKind.TRANSIENT, "code": None, "wait": 5.0},
    ]
    assert retries[0].name == "syncline.retry"


def test_policy_from_a_retry_block() -> None:
    assert parse_settings(RetrySettings, {}).policy() == RetryPolicy()
    policy = parse_settings(RetrySettings, {"max_tries": 3, "initial_wait": 0.1, "max_wait": 2})
    assert policy.policy() == RetryPolicy(max_tries=3, initial_wait=0.1, max_wait=2.0)
    for bad, words in (
        ({"max_tries": 0}, "retry.max_tries: must be at least 1"),
        ({"max_wait": -1}, "retry.max_wait: must be at least 0"),
        ({"max_tries": "5"}, "retry.max_tries: expected a whole number"),
        ({"max_tries": 2.5}, "retry.max_tries: expected a whole number"),
        ({"tries": 3}, "retry.tries: unknown key 'tries' (known: initial_wait, max_tries, "
                       "max_wait)"),
        ([1], "retry: expected settings (key: value)"),
    ):
        with pytest.raises(ConnectorError) as info:
            parse_settings(RetrySettings, bad, at=("retry",))
        assert info.value.kind is ErrorKind.CONFIG
        assert info.value.message == words
