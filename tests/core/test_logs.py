"""Structured logs: one logfmt line per event, mapping and run attached, secrets never shown."""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from connectors.config import Connections
from connectors.errors import ConnectorError
from connectors.memory.connector import MemoryConnector
from core import logs
from core.logs import bound, event, get_logger
from core.redaction import redact
from tests.jobs.harness import Harness

LINE = re.compile(r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ level=(\w+) event=(\S+)")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Syncline's loggers writing to a buffer; the logger setup is restored afterwards."""
    root = logging.getLogger("syncline")
    saved = (list(root.handlers), root.level, root.propagate)
    out = io.StringIO()
    logs.configure("INFO", stream=out)
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    root.propagate = saved[2]


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def _secret() -> str:
    value = f"sk-{secrets.token_hex(12)}"
    redact.add([value])
    return value


def test_one_line_per_event_with_the_bound_context(stream: io.StringIO) -> None:
    log = get_logger("test")

    with bound(mapping="crm-lead", run=42):
        event(log, "page.applied", read=200, note="two words", quote='say "hi"')
        with bound(run=43):
            event(log, "nested", text="first\nsecond")
        event(log, "warned", logging.WARNING, empty="", missing=None)
    event(log, "outside")

    lines = _lines(stream)
    assert len(lines) == 4, lines
    for line in lines:
        assert LINE.match(line), line
    assert lines[0].endswith(
        'level=info event=page.applied mapping=crm-lead run=42 read=200 note="two words" '
        'quote="say \\"hi\\""'
    )
    assert lines[1].endswith('event=nested mapping=crm-lead run=43 text="first\\nsecond"')
    assert lines[2].endswith('level=warning event=warned mapping=crm-lead run=42 empty=""')
    assert "missing" not in lines[2]
    assert lines[3].endswith("level=info event=outside"), "the context ends with its block"


def test_the_level_filters_and_configure_is_idempotent(stream: io.StringIO) -> None:
    logs.configure("WARNING", stream=stream)  # again: still one handler, one line per event
    log = get_logger("test")

    event(log, "chatty")
    event(log, "important", logging.ERROR)

    assert [LINE.match(line).group(1, 2) for line in _lines(stream)] == [  # type: ignore[union-attr]
        ("error", "important")
    ]


def test_a_registered_secret_never_appears(stream: io.StringIO) -> None:
    secret = _secret()
    log = get_logger("test")

    with bound(mapping="crm-lead", run=7):
        event(log, "auth.failed", url=f"https://x.test/?key={secret}", error=f"bad key {secret}")
        try:
            raise ConnectorError("auth", f"Invalid API key '{secret}'", code="INVALID_API_KEY")
        except ConnectorError as exc:
            log.error("call failed", exc_info=True)
            event(log, "run.crashed", error=repr(exc))
        log.info("plain message with %s", secret)

    text = stream.getvalue()
    assert secret not in text
    lines = _lines(stream)
    assert len(lines) == 4
    assert 'url="https://x.test/?key=***"' in lines[0], "quoted: the value holds an ="
    assert 'error="bad key ***"' in lines[0]
    assert 'level=error event="call failed"' in lines[1]
    assert "error=\"ConnectorError: [auth INVALID_API_KEY] Invalid API key '***'\"" in lines[1]
    assert "mapping=crm-lead run=7" in lines[2] and "Invalid API key '***'" in lines[2]
    assert lines[3].endswith('event="plain message with ***"')


def test_an_exception_quoting_credentials_logs_none(stream: io.StringIO) -> None:
    from tests.jobs.test_crashes import refused_request

    try:
        raise refused_request()
    except requests.ConnectionError:
        get_logger("test").error("token call failed", exc_info=True)

    [line] = _lines(stream)
    assert 'event="token call failed"' in line
    assert "/token?password=***&client_secret=***&user=ann" in line
    assert "p%C3%A4" not in line and "cs%2F9x" not in line


def test_a_failing_sync_logs_its_mapping_and_run_but_never_the_key(
    stream: io.StringIO, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"crm-key-{secrets.token_hex(10)}"
    # The real way a key becomes secret: the connections file is read.
    Connections.from_dict({"crm": {"type": "memory", "api_key": key}})
    h = Harness(engine, tmp_path)
    h.crm.api_key = "the-key-the-crm-expects"
    h.connector_config["crm"] = {"api_key": key}
    h.add_person(email="ann@acme.com", last_name="Lee")
    authenticate = MemoryConnector._authenticate

    def echoing(self: MemoryConnector) -> None:
        # Some APIs quote the credential they refused; that text must still not leak.
        try:
            authenticate(self)
        except ConnectorError as exc:
            exc.message = f"{exc.message}: {self._api_key}"
            raise

    monkeypatch.setattr(MemoryConnector, "_authenticate", echoing)

    report = h.run()

    assert report.status == "failed" and report.run_id is not None
    lines = _lines(stream)
    assert key not in stream.getvalue()
    run_lines = [line for line in lines if f"mapping=crm-person run={report.run_id}" in line]
    events = [LINE.match(line).group(2) for line in run_lines]  # type: ignore[union-attr]
    assert events[0] == "run.started" and events[-1] == "run.finished", lines
    [failed] = [line for line in run_lines if "event=run.failed" in line]
    assert "kind=auth" in failed and "Invalid API key: ***" in failed
    [error] = h.errors()
    assert key not in error.message and error.message == "Invalid API key: ***"


def test_carriage_returns_cannot_forge_a_log_line() -> None:
    from core.logs import _quote

    assert _quote("ok\r\nts=forged level=info event=fake") == (
        '"ok\\r\\nts=forged level=info event=fake"')
