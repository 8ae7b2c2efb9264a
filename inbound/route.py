"""``POST /hooks/<source>``: verify, store, commit, answer; processing follows in the background.

Outside the dashboard's login and CSRF (the signature is the authentication; app.py exempts
this blueprint and the guard lists its endpoint as public). In order:

1. an unknown source (not in the connections file, or not ``type: webhook``): 404;
2. more than :data:`MAX_BODY` bytes: 413, without reading past the limit;
3. a signature that is missing, wrong or stale under the source's scheme and secrets: 401
   with the reason (never a secret);
4. a body that is neither a JSON object nor a form: 400 with the reason;
5. more requests than the source's ``rate_per_minute``: 429 with ``Retry-After``;
6. stored and committed (inbound.inbox), and only then 202 ``{"id", "status": "accepted"}``;
   a ``webhook-id`` already stored is 200 ``{"status": "duplicate", "id"}``.

Every outcome of a known source is counted per hour (inbound.tally). After a 202 the web
process's worker (inbound.worker) runs the mappings reading the source.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from connectors.config import Connections, load_connections
from connectors.webhook.settings import WebhookConnection
from core.clock import utcnow
from core.errors import InputError, InputErrors
from core.logs import event, get_logger
from inbound import inbox, tally
from inbound.body import BodyError, parse
from inbound.ratelimit import RateLimiter
from inbound.signatures import SignatureError, StaleSignatureError, verify
from inbound.worker import Processor

#: The largest body read; a form submission is a few kilobytes.
MAX_BODY = 256 * 1024
#: The endpoint the login guard lets through.
ENDPOINT = "inbound.receive"

bp = Blueprint("inbound", __name__)
log = get_logger("inbound")


@dataclass
class Inbound:
    """What the route keeps per app: the sources as last read, rate buckets, the worker."""

    app: Flask
    connections_path: Path | None
    limiter: RateLimiter
    _processor: Processor | None = None
    _stamp: Any = None
    _connections: Connections | InputError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def engine(self) -> Engine:
        """The app's engine (looked up each time: tests hand the app theirs after it is made)."""
        engine: Engine = self.app.extensions["syncline.engine"]
        return engine

    @property
    def processor(self) -> Processor:
        """The background worker, made on first use."""
        with self._lock:
            if self._processor is None:
                self._processor = Processor(
                    self.engine, Path(self.app.config["MAPPINGS_DIR"]), self.connections_path)
            return self._processor

    def connections(self) -> Connections | InputError | None:
        """The connections file, re-read when it changes; the problem when it does not load."""
        path = self.connections_path
        if path is None:
            return None
        try:
            found = path.stat()
            stamp: Any = (found.st_mtime_ns, found.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._connections = load_connections(path) if path.exists() else None
                except InputError as exc:
                    self._connections = exc
                self._stamp = stamp
            return self._connections

    def source(self, name: str) -> WebhookConnection | InputError | None:
        """The settings of webhook source ``name``; None when there is no such source."""
        connections = self.connections()
        if connections is None or isinstance(connections, InputError):
            return connections
        if name not in connections or connections.get(name).get("type") != "webhook":
            return None
        try:
            checked = connections.check(name)
        except InputErrors as exc:
            return exc
        assert isinstance(checked, WebhookConnection)
        return checked


def install(app: Flask, *, leftovers: bool = False) -> None:
    """Register the route on ``app`` (the caller exempts :data:`bp` from CSRF).

    ``leftovers``: queue a run of every source's mappings now, for requests a killed
    process stored but did not process (``syncline web`` asks for it).
    """
    connections = app.config.get("CONNECTIONS")
    inbound = Inbound(app, Path(connections) if connections else None, RateLimiter())
    app.extensions["syncline.inbound"] = inbound
    app.register_blueprint(bp)
    if leftovers:
        try:
            inbound.processor.trigger_leftovers()
        except Exception as exc:  # the route still answers; the scheduler processes leftovers
            event(log, "inbound.leftovers_not_queued", error=type(exc).__name__)


def state() -> Inbound:
    """The app's inbound state."""
    found: Inbound = current_app.extensions["syncline.inbound"]
    return found


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.route("/hooks/<source>", methods=["POST"])
def receive(source: str) -> Response:
    """Receive one signed request of ``source``."""
    inbound = state()
    settings = inbound.source(source)
    if settings is None:
        return _answer(404, {"error": f"no webhook source named {source!r}"})
    if isinstance(settings, InputError):
        event(log, "inbound.source_unusable", source=source)
        return _answer(503, {"error": "this source's settings do not load; try again later"})
    refused = _read_and_check(inbound, source, settings)
    if isinstance(refused, Response):
        return refused
    body, event_id = refused
    now = utcnow()
    with Session(inbound.engine) as session:
        stored = inbox.store(session, source, inbox.event_id_for(event_id, body), body,
                             request.content_type, now)
        tally.count(session, source, "duplicate" if stored.duplicate else "accepted", now)
        session.commit()
    if stored.duplicate:
        return _answer(200, {"status": "duplicate", "id": stored.id})
    inbound.processor.trigger([source])
    return _answer(202, {"id": stored.id, "status": "accepted"})


def _read_and_check(
    inbound: Inbound, source: str, settings: WebhookConnection
) -> tuple[bytes, str | None] | Response:
    """The body and the sender's event id, or the refusal to answer (counted)."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return _refuse(inbound, source, "too_large", 413, f"the body is over {MAX_BODY} bytes")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _refuse(inbound, source, "too_large", 413, f"the body is over {MAX_BODY} bytes")
    headers = {name: value for name, value in request.headers.items()}
    try:
        verified = verify(settings.scheme, settings.all_secrets, headers, body, time.time(),
                          header=settings.signature_header)
    except StaleSignatureError as exc:
        return _refuse(inbound, source, "stale", 401, str(exc))
    except SignatureError as exc:
        return _refuse(inbound, source, "bad_signature", 401, str(exc))
    try:
        parse(body, request.content_type)
    except BodyError as exc:
        return _refuse(inbound, source, "bad_body", 400, str(exc))
    wait = inbound.limiter.take(source, settings.rate_per_minute)
    if wait:
        return _refuse(inbound, source, "rate_limited", 429,
                       f"more than {settings.rate_per_minute} requests a minute",
                       {"Retry-After": str(wait)})
    return body, verified.event_id


def _refuse(
    inbound: Inbound, source: str, outcome: str, status: int, reason: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """Count a refusal and answer it; a database down must not turn a 401 into a 500."""
    try:
        with Session(inbound.engine) as session:
            tally.count(session, source, outcome, utcnow())
            session.commit()
    except SQLAlchemyError as exc:
        event(log, "inbound.not_counted", source=source, outcome=outcome,
              error=type(exc).__name__)
    return _answer(status, {"error": reason}, headers)
