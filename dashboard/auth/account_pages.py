"""Your account and its open sessions; for admins, every account and "Sign out everywhere"."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import abort, flash, redirect, render_template, session, url_for
from werkzeug.wrappers import Response

from core import accounts, sessions
from core.clock import utcnow
from core.logs import event
from core.models import DashboardSession, User
from dashboard.auth.guard import admin_required, current_token, current_user, lifetime
from dashboard.blueprint import bp, db, engine, log


def _span(length: timedelta) -> str:
    """A timeout as the pages say it: "30 minutes", "12 hours", "90 seconds"."""
    seconds = int(length.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _page_facts() -> dict[str, str | None]:
    """The timeouts as words, and this browser's token hash (its session is marked)."""
    limits = lifetime()
    token = current_token()
    return {
        "idle": _span(limits.idle),
        "absolute": _span(limits.absolute),
        "this": sessions.hash_token(token) if token is not None else None,
    }


@bp.route("/account")
def account() -> str:
    """The logged-in user's account and where it is logged in."""
    user = current_user()
    assert user is not None and user.id is not None  # the guard let the request through
    open_now = sessions.open_sessions(db(), utcnow(), lifetime(), user_id=user.id)
    return render_template("dashboard/account.html", rows=open_now, **_page_facts())


@bp.route("/account/sign-out-everywhere", methods=["POST"])
def sign_out_everywhere() -> Response:
    """End every session of the logged-in user, this one included (any role may)."""
    user = current_user()
    assert user is not None
    return _sign_out(user, user)


@bp.route("/users")
@admin_required
def users() -> str:
    """Every account with its open sessions, for admins."""
    by_user: dict[int, list[DashboardSession]] = defaultdict(list)
    for row in sessions.open_sessions(db(), utcnow(), lifetime()):
        by_user[row.user_id].append(row)
    return render_template(
        "dashboard/users.html",
        accounts=accounts.list_users(engine()),
        sessions_of=by_user,
        **_page_facts(),
    )


@bp.route("/users/<int:user_id>/sign-out", methods=["POST"])
@admin_required
def user_sign_out(user_id: int) -> Response:
    """End every session of one account (it may log in again; deactivate it to stop that)."""
    target = db().get(User, user_id)
    if target is None:
        abort(404)
    actor = current_user()
    assert actor is not None
    return _sign_out(actor, target)


def _sign_out(actor: User, target: User) -> Response:
    """End ``target``'s sessions, log who did it, and say so where the actor lands next."""
    user, ended = accounts.sign_out(engine(), target.email)
    event(log, "sessions.signed_out_everywhere", actor=actor.email, email=user.email,
          sessions=ended)
    text = accounts.signed_out_text(user, ended)
    if user.id == actor.id:
        session.clear()  # this browser's session was among them
    flash(text[0].upper() + text[1:] + ".", "success")
    return redirect(url_for("dashboard.login" if user.id == actor.id else "dashboard.users"))
