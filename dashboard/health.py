"""Health check for load balancers and process supervisors (no login needed)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import text

from connectors.errors import redact
from core.db import describe_error
from core.logs import event
from dashboard.blueprint import bp, engine, log


@bp.route("/healthz")
def healthz() -> tuple[Any, int]:
    """Liveness for load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unhealthy", never a 500
        detail = _safe_error(exc)
        event(log, "healthz.database_error", error=detail)
        return jsonify(status="error", database="error", error=detail), 503
    return jsonify(status="ok", database="ok"), 200


def _safe_error(exc: Exception) -> str:
    """Summarise a driver error in one line, without the URL's password or known secrets."""
    return redact(describe_error(exc, engine()))
