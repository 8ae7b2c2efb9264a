"""The login form, logout, and the pages shown when a request is refused (401, 403, CSRF)."""

from __future__ import annotations

import logging
import math

from flask import current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge, Unauthorized
from werkzeug.wrappers import Response

from core.accounts import authenticate, normalise_email
from core.clock import utcnow
from core.logs import event
from dashboard.auth import ratelimit
from dashboard.auth.guard import current_user, forget, remember
from dashboard.auth.ratelimit import client_address
from dashboard.blueprint import bp, db, local_path, log

#: The one message for an unknown email, a wrong password and a deactivated account alike,
#: so the form never tells a stranger which emails have accounts.
WRONG_CREDENTIALS = "Wrong email or password."
#: Emails longer than this are not emails; the form field and the column agree.
MAX_EMAIL = 255


def _safe_next(target: str | None) -> str:
    """Only ever redirect within the dashboard after login (no open redirect)."""
    return local_path(target, url_for("dashboard.overview"))


def _wait_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds > 60 else "a minute"
    return f"Too many failed logins. Try again in {when}."


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Ask for email and password; on success, start a session and go where the user was going."""
    email = request.form.get("email", "")[:MAX_EMAIL]
    if request.method == "GET":
        return render_template("dashboard/login.html", error=None, email=email)

    key = normalise_email(email)
    address = client_address()
    now = utcnow()
    attempt = ratelimit.reserve(key, address, now)
    if attempt.wait is not None:
        # Refused before the password is looked at, so guessing stops even for the right one.
        event(log, "login.refused", email=key, address=address, retry_after=attempt.wait)
        page = render_template(
            "dashboard/login.html", error=_wait_message(attempt.wait), email=email
        )
        return page, 429, {"Retry-After": str(attempt.wait)}

    user = authenticate(db(), key, request.form.get("password", ""))
    ratelimit.purge(now)
    if user is None:
        event(log, "login.failed", email=key, address=address)
        locked = ratelimit.locked_by(attempt, now)
        if locked is not None:
            event(
                log, "login.locked_out", logging.WARNING, email=key, address=address,
                retry_after=locked,
            )
        return render_template("dashboard/login.html", error=WRONG_CREDENTIALS, email=email), 401

    ratelimit.succeeded(attempt)
    user.last_login_at = now
    db().add(user)
    db().commit()
    remember(user)
    event(log, "login.ok", email=user.email, address=address)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session (POST with a CSRF token, so another site cannot log you out)."""
    forget()
    return redirect(url_for("dashboard.login"))


# -- refusals ------------------------------------------------------------------------------------


@bp.app_errorhandler(Unauthorized)
def unauthorized(exc: Unauthorized) -> tuple[str, int]:
    """A form posted without a login (usually a session that ended): say so, link to login."""
    return _refused(401, "Please log in", "Your session has ended. Log in again, then retry."), 401


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
    """A body over MAX_CONTENT_LENGTH: refused unread, whatever the form was."""
    limit = int(current_app.config["MAX_CONTENT_LENGTH"] or 0) // 1024
    message = f"The form sent was too large (over {limit:,} KB) and was not read; nothing changed."
    return _refused(413, "Request too large", message), 413


@bp.app_errorhandler(Forbidden)
def forbidden(exc: Forbidden) -> tuple[str, int]:
    """An action the user's role does not allow."""
    user = current_user()
    role = user.role if user is not None else "no"
    message = f"This needs the admin role; you are logged in with the {role} role."
    return _refused(403, "Not allowed", message), 403


@bp.app_errorhandler(CSRFError)
def csrf_failed(exc: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: stale, or sent from another site."""
    message = "The form had expired or did not come from this dashboard. Reload the page and retry."
    hint = None
    config = current_app.config
    if (
        config["SESSION_COOKIE_SECURE"]
        and not request.is_secure
        and config["SESSION_COOKIE_NAME"] not in request.cookies
    ):
        # The usual cause on a first install: a Secure cookie over plain HTTP is never sent back.
        hint = (
            "Your browser sent no session cookie. The dashboard's cookie is marked Secure and "
            "this page came over plain HTTP: serve it over HTTPS, or (on a trusted local "
            "network only) set SYNCLINE_SESSION_COOKIE_SECURE=false."
        )
    return _refused(400, "Form refused", message, hint), 400


def _refused(status: int, title: str, message: str, hint: str | None = None) -> str:
    return render_template(
        "dashboard/refused.html", status=status, title=title, message=message, hint=hint
    )
