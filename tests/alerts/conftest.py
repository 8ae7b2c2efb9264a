"""Alert fixtures: a real SMTP server (aiosmtpd) and a real HTTP receiver, both on loopback."""

from __future__ import annotations

import email
import io
import itertools
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine

from core.db import session
from core.logs import LogfmtFormatter
from core.models import ConnectionStatus, SyncError, SyncRun
from jobs import causes

BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

#: Test-only SMTP credentials (never a real secret).
SMTP_USER = "alerts@example.com"
SMTP_PASSWORD = "smtp-password-8c1e5a"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received: parsed messages and their envelopes."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, smtp_session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.original_content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.tls.append(smtp_session.ssl is not None)
        return "250 Message accepted for delivery"


def _start(mailbox: Mailbox, **options: Any) -> Controller:
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port, **options)
    controller.start()
    return controller


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A plain SMTP server on loopback (no TLS, no login): a local relay."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = _start(mailbox)
    yield mailbox
    controller.stop()


@dataclass
class TlsMailbox(Mailbox):
    """A relay that requires STARTTLS before AUTH, with its own certificate authority."""

    ca_file: str = ""


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[TlsMailbox]:
    """An SMTP server requiring STARTTLS and a login, its certificate signed by a test CA."""
    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    mailbox = TlsMailbox("127.0.0.1", free_port(), ca_file=str(ca_file))

    def authenticator(server: Any, smtp_session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            if (login, password) == (SMTP_USER, SMTP_PASSWORD):
                mailbox.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    controller = _start(
        mailbox,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    yield mailbox
    controller.stop()


@dataclass
class Receiver:
    """What the HTTP receiver was sent: one (path, JSON body) per POST."""

    url: str
    posts: list[tuple[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """A local HTTP server standing in for Slack's or Teams' incoming webhook."""
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.posts.append((self.path, json.loads(body)))
            self.send_response(receiver.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if receiver.status < 300 else b"invalid_token")

        def log_message(self, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0001/B0002/tok3n5ecret"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


# -- rows ---------------------------------------------------------------------------------------


@pytest.fixture
def add_run(engine: Engine) -> Callable[..., SyncRun]:
    """Store a finished run ``minutes`` after BASE."""

    def add(mapping: str, status: str, minutes: float, message: str | None = None) -> SyncRun:
        started = BASE + timedelta(minutes=minutes)
        run = SyncRun(mapping=mapping, status=status, started_at=started,
                      finished_at=started + timedelta(seconds=5), message=message)
        with session(engine) as db:
            db.add(run)
        return run

    return add


@pytest.fixture
def add_errors(engine: Engine) -> Callable[..., list[int]]:
    """Store ``count`` open errors of one mapping (and cause), counted as every writer does."""
    counter = itertools.count()

    def add(mapping: str, count: int, *, code: str = "REQUIRED_FIELD_MISSING",
            status: str = "open", field: str | None = "Phone") -> list[int]:
        ids = []
        with session(engine) as db:
            for _ in range(count):
                n = next(counter)
                error = SyncError(fingerprint=f"fp-{mapping}-{n}", mapping=mapping,
                                  direction="to_remote", kind="validation", code=code,
                                  field=field, message=f"problem {n}", status=status,
                                  first_seen=BASE, last_seen=BASE)
                db.add(error)
                db.flush()
                ids.append(error.id)
            causes.recount(db, [mapping])
        return ids

    return add


@pytest.fixture
def resolve_errors(engine: Engine) -> Callable[[str, list[int]], None]:
    def resolve(mapping: str, ids: list[int]) -> None:
        with session(engine) as db:
            for error_id in ids:
                row = db.get(SyncError, error_id)
                assert row is not None
                row.status, row.resolved_at = "resolved", BASE
                db.add(row)
            causes.recount(db, [mapping])

    return resolve


@pytest.fixture
def set_usage(engine: Engine) -> Callable[[str, int, int], None]:
    def store(connection: str, used: int, limit: int) -> None:
        with session(engine) as db:
            row = db.get(ConnectionStatus, connection) or ConnectionStatus(connection=connection)
            row.api_used, row.api_limit, row.usage_at = used, limit, BASE
            db.add(row)

    return store


def at(minutes: float) -> datetime:
    """BASE plus some minutes: the evaluation times tests step through."""
    return BASE + timedelta(minutes=minutes)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Syncline's log lines (logfmt, as the scheduler writes them) while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    logger = logging.getLogger("syncline")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)
