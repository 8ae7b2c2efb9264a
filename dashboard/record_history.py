"""A hub record's History tab: every value the engine changed, newest first, and why.

The rows are the field history the sync engine journals (``jobs.history``); they are told the
same way ``syncline history`` tells them (``core.field_history``). ``?field=`` narrows the
list to one hub field.
"""

from __future__ import annotations

from flask import render_template, request

from core.field_history import MOST_SHOWN, change_text, fields_of, history_of, where_text
from dashboard.blueprint import bp, db
from dashboard.records import find_record, page_title


@bp.route("/records/<hub_object>/<hub_id>/history")
def record_history(hub_object: str, hub_id: str) -> str:
    """The record's field history, newest first; ``?field=company`` for one field."""
    found = find_record(hub_object, hub_id)
    fields = fields_of(db(), found.id)
    field = request.args.get("field", "").strip()
    if field not in fields:
        field = ""  # an unknown field shows everything rather than a misleading empty list
    rows = history_of(db(), found.id, field or None)
    return render_template(
        "dashboard/record_history.html",
        hub_object=hub_object,
        record=found,
        title=page_title(found),
        fields=fields,
        field=field,
        rows=[(row, change_text(row), where_text(row)) for row in rows],
        capped=len(rows) == MOST_SHOWN,
    )
