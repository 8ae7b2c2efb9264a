"""The Flask application factory: configuration, one database engine and the dashboard."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from core.db import database_url, make_engine
from core.errors import InputError
from core.logs import redacting_filter

#: Sent on every response. The pages load nothing from elsewhere and use no inline script or
#: style, so the strictest CSP costs nothing and contains any escaping bug we might still have.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
#: Only on HTTPS responses: browsers ignore it over HTTP, and a dashboard reached over plain
#: HTTP (a laptop demo) must not be told to insist on HTTPS for a year.
HSTS = "max-age=31536000"

csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app: defaults, instance/config.py, test config, then SYNCLINE_* env vars."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SYNCLINE_SECRET_KEY"),
        DATABASE_URL=database_url(),
        MAPPINGS_DIR="mappings",
        CONNECTIONS="connections.yaml",
        # Resolved and ignored errors (and runs) older than this are purged by the scheduler.
        RETENTION_DAYS=90,
        # Cookies: never readable by scripts, never sent by other sites' forms, and only over
        # HTTPS. A deployment on plain HTTP sets SYNCLINE_SESSION_COOKIE_SECURE=false (Chrome
        # and Firefox keep Secure cookies on http://127.0.0.1 and localhost, Safari does not).
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_NAME="syncline_session",
        # Sessions end 12 hours after login whatever happens, and after this many minutes
        # without a request. 30: the pages hold people's emails and an admin can edit
        # mappings and records, yet the dashboard is read in between other work (an error
        # fixed in the CRM, then retried here); 30 minutes is the top of the usual range for
        # such applications, and the 12 hours bound a session that stays busy.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_IDLE_MINUTES=30,
        # Login attempts: at most this many failures per email, and per client address,
        # in the window; then the form answers 429 until the window has passed.
        LOGIN_MAX_FAILURES=5,
        LOGIN_WINDOW_SECONDS=900,
        # The largest request body read: a mapping file posted from the editor is a few
        # kilobytes; anything near this is an attack or an accident, refused (413) unread.
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it belongs to
        # How many reverse proxies (each adding X-Forwarded-For/-Proto) sit in front of the
        # app. 0: the headers are ignored, since anyone can send them and would otherwise
        # choose their own address for the login rate limit.
        TRUSTED_PROXIES=0,
        # Run the webhook sources' mappings once at start, for requests stored by a process
        # that died before processing them (``syncline web`` sets it).
        INBOUND_LEFTOVERS=False,
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config is not None:
        app.config.from_mapping(test_config)
    # Environment last, so a deployment can override anything without editing files.
    app.config.from_prefixed_env("SYNCLINE")

    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    _check_idle_minutes(app.config["SESSION_IDLE_MINUTES"])

    # One engine (and so one connection pool) per app; requests borrow sessions from it.
    app.extensions["syncline.engine"] = make_engine(app.config["DATABASE_URL"])

    import dashboard
    from inbound import route as inbound_route

    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies > 0:
        # The client's address (rate limit) and scheme (HSTS, Secure cookies) as the proxy saw.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )

    # Before dashboard.register: a form without a valid token is refused (400) before the
    # login check, so a forged request learns nothing, not even whether a session exists.
    csrf.init_app(app)
    # Flask logs a failed request's traceback itself: an exception's text may quote a URL
    # with credentials in it.
    app.logger.addFilter(redacting_filter)
    dashboard.register(app)
    # Webhooks: signed, not logged in, so no CSRF token either (inbound.route).
    inbound_route.install(app, leftovers=bool(app.config["INBOUND_LEFTOVERS"]))
    csrf.exempt(inbound_route.bp)
    app.after_request(_security_headers)
    return app


def _check_idle_minutes(value: object) -> None:
    """Refuse an idle timeout that is not a positive number of minutes.

    Zero would end every session at its second request; a word would fail every request.
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if not ok:
        raise InputError(
            "SESSION_IDLE_MINUTES", f"must be a positive number of minutes, not {value!r}"
        )


def _instance_secret(folder: Path) -> str:
    """The session-signing key kept in instance/secret_key, made (mode 0600) on first start.

    Stable across restarts and shared by every process on the machine, so logins survive a
    restart; it lives beside the database, outside git (instance/ is ignored).
    """
    path = folder / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        # Written whole under a private name, then linked into place: web workers starting
        # together must never read a half-written key (link fails if another one won).
        draft = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text().strip()
        finally:
            draft.unlink()
        return key


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    # Pages show error payloads and record values: keep them out of shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
