"""The login form and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from core.db import utcnow
from dashboard.auth.accounts import authenticate
from dashboard.auth.guard import remember
from dashboard.blueprint import bp, db


def _safe_next(target: str | None) -> str:
    """Only ever redirect within the dashboard after login (no open redirect)."""
    if not target:
        return url_for("dashboard.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.overview")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """Ask for email and password; on success, start a session and go where the user was going."""
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        user = authenticate(db(), email, request.form.get("password", ""))
        if user is not None:
            user.last_login_at = utcnow()
            db().add(user)
            db().commit()
            remember(user)
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong email or password."
    status = 401 if error else 200
    return render_template("dashboard/login.html", error=error, email=email), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session (POST with a CSRF token, so another site cannot log you out)."""
    from flask import session

    session.clear()
    return redirect(url_for("dashboard.login"))
