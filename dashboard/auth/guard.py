"""Every page needs a logged-in user; actions that change something need the admin role."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from core.models import User
from dashboard.blueprint import bp, db

#: Endpoints anyone may reach: the login form itself, the stylesheet and the health check.
PUBLIC_ENDPOINTS = frozenset(
    {"dashboard.login", "dashboard.static", "dashboard.healthz", "dashboard.readyz"}
)

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    """The user this request is made by, or None before login."""
    return g.get("user")


@bp.before_app_request
def _require_login() -> Response | None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        user = db().get(User, user_id)
        # A deactivated account, or a password changed since this session began, logs out.
        stamp = session.get("pw")
        if (
            user is not None
            and user.active
            and isinstance(stamp, str)
            and hmac.compare_digest(stamp, _stamp(user))
        ):
            g.user = user
        else:
            session.clear()
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        abort(401)
    return None


def _stamp(user: User) -> str:
    """A fingerprint of the password hash: sessions end when the password changes.

    Keyed with the app's secret: the session cookie is signed, not encrypted, so it must not
    carry any part of the hash itself.
    """
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def remember(user: User) -> None:
    """Start a fresh session for ``user`` (a new session id, so a planted one is useless)."""
    session.clear()
    session["user_id"] = user.id
    session["pw"] = _stamp(user)
    session.permanent = True


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
