"""Crash messages: one line in words, the exception type last, secrets and values left out."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from core.redaction import redact
from jobs.crashes import MESSAGE_LIMIT, crash_detail, crash_failure, crash_message


def raised(fn) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test wants whatever it raised
        return exc
    raise AssertionError("nothing was raised")


def test_a_bug_outside_the_database_keeps_its_first_line_and_type() -> None:
    redact.add(["tok-1b2c3d4e5f-crash-test"])

    def bug() -> None:
        raise LookupError("no field 'LeadSource' for tok-1b2c3d4e5f-crash-test\nsecond line")

    failure = crash_failure(raised(bug))

    assert failure.message == "unexpected error: no field 'LeadSource' for *** (LookupError)"
    assert (failure.kind, failure.code) == ("system", "LookupError")
    assert failure.detail is not None
    assert failure.detail["exception"] == "builtins.LookupError"
    assert failure.detail["traceback"][-1].startswith("tests/jobs/test_crashes.py:")
    assert failure.detail["traceback"][-1].endswith(" in bug")


def refused_request() -> requests.RequestException:
    """A real requests error quoting a URL whose query carries credentials (port 9: refused)."""
    url = "http://127.0.0.1:9/token?password=p%C3%A4%2Bss%26w&client_secret=cs%2F9x&user=ann"
    exc = raised(lambda: requests.get(url, timeout=5))
    assert isinstance(exc, requests.ConnectionError) and "p%C3%A4%2Bss%26w" in str(exc)
    return exc


def test_a_requests_error_quoting_credentials_in_its_url_shows_none() -> None:
    # Nobody registered these values: the parameters' names are enough to hide them.
    failure = crash_failure(refused_request())

    assert "/token?password=***&client_secret=***&user=ann" in failure.message
    assert failure.message.startswith("unexpected error: HTTPConnectionPool(")
    assert failure.detail is not None
    assert "password=***&client_secret=***&user=ann" in failure.detail["error"]
    for shown in (failure.message, repr(failure.detail)):
        assert "p%C3%A4" not in shown and "cs%2F9x" not in shown


def test_a_long_message_is_cut_to_one_line() -> None:
    message = crash_message(ValueError("x" * 1000))
    assert len(message) == MESSAGE_LIMIT and message.endswith("…")


def test_a_database_error_names_the_driver_line_never_the_statement(engine: Engine) -> None:
    def bad_query() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT secret_column FROM person WHERE email = :email"),
                               {"email": "ann@acme.com"})

    exc = raised(bad_query)
    assert isinstance(exc, SQLAlchemyError) and "ann@acme.com" in str(exc)

    message = crash_message(exc)
    detail = crash_detail(exc)

    assert message.startswith("the hub database ")
    assert "secret_column" in message, "the driver's own words say what is wrong"
    assert "ann@acme.com" not in message and "[SQL:" not in message
    assert detail["statement"] == "SELECT"
    assert "ann@acme.com" not in repr(detail) and "[parameters:" not in repr(detail)


@pytest.mark.parametrize("exc", [RuntimeError(), RuntimeError("   ")])
def test_an_exception_without_words_still_says_what_it_was(exc: Exception) -> None:
    assert crash_message(exc) == "unexpected error: no message (RuntimeError)"
