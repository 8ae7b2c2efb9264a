"""Every page needs a logged-in user; actions that change something need the admin role.

The signed cookie holds only a session token (and Flask-WTF's CSRF secret); who is logged in,
and whether that session still holds, is decided from the database on every request
(core.sessions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from core import sessions
from core.clock import as_utc, utcnow
from core.db import session as transaction
from core.models import User
from dashboard.auth.ratelimit import client_address
from dashboard.blueprint import bp, db, engine

#: Endpoints anyone may reach: the login form itself, the stylesheet, the health check, and
#: the webhook receiver (its requests are signed: inbound.route).
PUBLIC_ENDPOINTS = frozenset(
    {"dashboard.login", "dashboard.static", "dashboard.healthz", "dashboard.readyz",
     "inbound.receive"}
)
#: The cookie's key for the session token.
TOKEN_KEY = "sid"

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    """The user this request is made by, or None before login."""
    return g.get("user")


def lifetime() -> sessions.Lifetime:
    """The configured idle and absolute session timeouts."""
    return sessions.Lifetime(
        idle=timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"])),
        absolute=current_app.permanent_session_lifetime,
    )


def current_token() -> str | None:
    """The session token this browser's cookie carries, if any."""
    token = session.get(TOKEN_KEY)
    return token if isinstance(token, str) else None


#: Answered without a session when the database is down: that is what they report on.
_HEALTH_ENDPOINTS = frozenset({"dashboard.healthz", "dashboard.readyz"})


@bp.before_app_request
def _require_login() -> Response | None:
    try:
        g.user = _session_user()
    except SQLAlchemyError:
        # An admin's cookie must not turn "the database is down" into a 500 on the probes.
        if request.endpoint not in _HEALTH_ENDPOINTS:
            raise
        g.user = None
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        abort(401)
    return None


def _session_user() -> User | None:
    """The account whose open session this cookie names; a cookie naming none is emptied."""
    token = current_token()
    if token is None:
        return None
    found = sessions.find(db(), token)
    now = utcnow()
    if found is None:
        session.clear()
        return None
    row, user = found
    if not user.active or lifetime().ended(row, now):
        with transaction(engine()) as tx:
            sessions.end(tx, token)
        session.clear()
        return None
    if now - as_utc(row.last_seen_at) >= sessions.TOUCH_EVERY:
        with transaction(engine()) as tx:
            sessions.touch(tx, row.token_hash, now)
    return user


def remember(user: User) -> None:
    """Start a fresh session for ``user`` with a new token, so a planted one is useless.

    The browser's previous session, if it had one, ends. Sessions that ran out are purged
    here rather than by the scheduler: logins are what add rows, and only the dashboard knows
    its configured timeouts.
    """
    assert user.id is not None
    now = utcnow()
    with transaction(engine()) as tx:
        previous = current_token()
        if previous is not None:
            sessions.end(tx, previous)
        sessions.purge(tx, now, lifetime())
        token = sessions.start(tx, user.id, client_address(), request.user_agent.string, now)
    session.clear()
    session[TOKEN_KEY] = token
    session.permanent = True


def forget() -> None:
    """End this browser's session (its row, so copies of the cookie end too) and empty it."""
    token = current_token()
    if token is not None:
        with transaction(engine()) as tx:
            sessions.end(tx, token)
    session.clear()


def admin_required(view: F) -> F:
    """Refuse (403) a view to users without the admin role.

    The wrapper carries ``admin_only = True`` so the tests can check that every view which
    changes something is guarded, by walking the app's URL map.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None or user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    wrapped.admin_only = True  # type: ignore[attr-defined]
    return cast(F, wrapped)
