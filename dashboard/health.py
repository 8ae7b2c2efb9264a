"""Health and readiness checks for load balancers and process supervisors (no login needed).

``/healthz`` (liveness) answers whether the database does; ``/readyz`` (readiness) names each
dependency and which one is down: the database, its schema version, the connections file and
the mapping files.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import text

from connectors.errors import redact
from core.db import describe_error, require_schema
from core.errors import InputError
from core.logs import event
from dashboard import workspace
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


@bp.route("/readyz")
def readyz() -> tuple[Any, int]:
    """Readiness: 200 when the dashboard can serve; 503 naming what is down when it cannot.

    Broken mapping files do not make it unready (their pages say what is wrong), but they are
    listed, with their count, under ``files``.
    """
    checks: dict[str, dict[str, Any]] = {}
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:  # unreachable, wrong credentials, file gone: all mean "down"
        checks["database"] = {"ok": False, "error": _safe_error(exc)}
    if checks["database"]["ok"]:
        try:
            require_schema(engine())
            checks["schema"] = {"ok": True}
        except InputError as exc:
            checks["schema"] = {"ok": False, "error": exc.message}
        except Exception as exc:  # lost between the two checks
            checks["schema"] = {"ok": False, "error": _safe_error(exc)}
    space = workspace.current()
    connections = workspace.connections_path()
    checks["connections"] = (
        {"ok": True}
        if space.connections is not None
        else {"ok": False, "error": "no connections file loaded"
              if connections is None or not connections.is_file()
              else "the connections file does not load"}
    )
    checks["files"] = {
        "ok": not space.problems,
        "problems": [redact(str(p)) for p in space.problems[:20]],
        "stopped_mappings": sorted(space.stopped),
    }
    down = [name for name in ("database", "schema") if not checks.get(name, {"ok": True})["ok"]]
    if down:
        event(log, "readyz.not_ready", down=",".join(down))
        return jsonify(status="not ready", down=down, checks=checks), 503
    degraded = [name for name in ("connections", "files") if not checks[name]["ok"]]
    return jsonify(status="degraded" if degraded else "ready", down=[], checks=checks), 200


def _safe_error(exc: Exception) -> str:
    """Summarise a driver error in one line, without the URL's password or known secrets."""
    return redact(describe_error(exc, engine()))
