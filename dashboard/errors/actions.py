"""Acting on errors from the dashboard (retry, ignore, reopen) and exporting them as CSV.

An action names its errors either by id (the checkboxes of the list, the buttons of one
error) or by filter (a whole cause of the grouped view); ``jobs.triage`` does the work and
writes the audit entry, with the logged-in admin as the actor.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from core import csvfile
from core.clock import utcnow
from dashboard.auth import admin_required, current_user
from dashboard.blueprint import bp, engine, local_path
from dashboard.errors.queries import FilterError, parse
from jobs import triage
from jobs.failures import ERROR_STATUSES
from jobs.triage import EXPORT_COLUMNS, ErrorFilter

#: Most ids one form may name (a page of the list holds 50).
MAX_IDS = 1000
#: Rows per chunk of the CSV stream.
EXPORT_CHUNK = 500

_DONE = {
    "retry": "Retried {n}: each goes again at the next cycle of its mapping.",
    "ignore": "Ignored {n}: they are no longer retried or listed as open.",
    "reopen": "Reopened {n}.",
}
_NOTHING = {
    "retry": "Nothing to retry: only open, retrying or ignored record-level errors can be "
    "retried (a job-level error clears when its mapping's next cycle completes).",
    "ignore": "Nothing to ignore: only open or retrying errors can be ignored.",
    "reopen": "Nothing to reopen: only ignored or resolved errors can be reopened.",
}


@bp.route("/errors/action", methods=["POST"])
@admin_required
def errors_action() -> Response | tuple[str, int]:
    """Retry, ignore or reopen the errors a form names, then go back where it was sent from."""
    back = safe_next(request.form.get("next"))
    action = request.form.get("action", "")
    if action not in triage.ACTIONS:
        return _bad_request(f"action: {action!r} is not one of {', '.join(triage.ACTIONS)}")
    scope = request.form.get("scope", "ids")
    if scope == "ids":
        raw = request.form.getlist("ids")
        if not raw:
            flash("Select at least one error first: nothing was changed.", "warning")
            return redirect(back)
        if len(raw) > MAX_IDS or not all(value.isdigit() for value in raw):
            return _bad_request(f"ids: expected up to {MAX_IDS} error ids (whole numbers)")
        # Whatever status the page showed: each action moves only the statuses it can.
        where = ErrorFilter(ids=sorted({int(value) for value in raw}), status=ERROR_STATUSES)
    elif scope == "filter":
        try:
            query = parse(request.form)
        except FilterError as exc:
            return _bad_request("; ".join(exc.problems))
        if not query.narrowed:
            return _bad_request(
                "a bulk action needs a mapping, kind, code, field or search; nothing was changed"
            )
        where = query.where()
    else:
        return _bad_request(f"scope: {scope!r} is not one of ids, filter")
    user = current_user()
    assert user is not None  # admin_required let the request through
    count = getattr(triage, action)(engine(), where, user.email)
    if count:
        flash(_DONE[action].format(n=f"{count} error{'s' if count != 1 else ''}"), "success")
    else:
        flash(_NOTHING[action], "warning")
    return redirect(back)


@bp.route("/errors/export.csv")
def errors_export() -> Response | tuple[str, int]:
    """Every error the filter matches as CSV, streamed row by row (any size, little memory)."""
    try:
        query = parse(request.args)
    except FilterError as exc:
        return _bad_request("; ".join(exc.problems))
    where, bound = query.where(), engine()

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csvfile.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for n, error in enumerate(triage.iter_matching(bound, where), start=1):
            writer.writerow(triage.export_row(error))
            if n % EXPORT_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"syncline-errors-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        chunks(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def safe_next(target: str | None) -> str:
    """A local path to go back to after an action; anything else goes to the errors list."""
    return local_path(target, url_for("dashboard.errors"))


def _bad_request(message: str) -> tuple[str, int]:
    """A 400 page saying what was wrong with the request; nothing was changed."""
    page = render_template(
        "dashboard/refused.html", title="Bad request", message=message, status=400
    )
    return page, 400
