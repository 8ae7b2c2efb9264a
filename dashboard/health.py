"""Health and readiness checks for load balancers and process supervisors (no login needed).

``/healthz`` (liveness) answers whether the database does; ``/readyz`` (readiness) checks each
dependency: the database, its schema version, the connections file and the mapping files.

Strangers reach these URLs too, so an anonymous answer carries status words only (``ok`` or
``error`` per dependency): a driver error names the database host, port and name, and mapping
names say what the business syncs. The details go to the log, and to a logged-in admin who
opens the same URL.
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
from dashboard.auth.guard import current_user
from dashboard.blueprint import bp, engine, log


def _detailed() -> bool:
    """Whether this request may see what is wrong, not just that something is."""
    user = current_user()
    return user is not None and user.role == "admin"


@bp.route("/healthz")
def healthz() -> tuple[Any, int]:
    """Liveness for load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unhealthy", never a 500
        detail = _safe_error(exc)
        event(log, "healthz.database_error", database=_where(), error=detail)
        extra = {"error": detail} if _detailed() else {}
        return jsonify(status="error", database="error", **extra), 503
    return jsonify(status="ok", database="ok"), 200


@bp.route("/readyz")
def readyz() -> tuple[Any, int]:
    """Readiness: 200 when the dashboard can serve; 503 naming what is down when it cannot.

    Broken mapping files do not make it unready (their pages say what is wrong); they make it
    ``degraded``.
    """
    checks = _checks()
    down = [name for name in ("database", "schema") if not checks.get(name, {"ok": True})["ok"]]
    degraded = [name for name in ("connections", "files") if not checks[name]["ok"]]
    if down:
        status, code = "not ready", 503
        event(log, "readyz.not_ready", down=",".join(down), database=_where(), **_errors(checks))
    else:
        status, code = ("degraded" if degraded else "ready"), 200
    if not _detailed():
        words = {name: "ok" if check["ok"] else "error" for name, check in checks.items()}
        return jsonify(status=status, down=down, checks=words), code
    return jsonify(status=status, down=down, checks=checks), code


def _checks() -> dict[str, dict[str, Any]]:
    """Each dependency's state, with what is wrong (for the log and for admins)."""
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
    return checks


def _errors(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The failed checks' messages as log fields (``database_error=...``)."""
    return {f"{name}_error": str(c["error"]) for name, c in checks.items() if c.get("error")}


def _where() -> str:
    """The database URL without its password: which database the operator should look at."""
    return engine().url.render_as_string(hide_password=True)


def _safe_error(exc: Exception) -> str:
    """Summarise a driver error in one line, without the URL's password or known secrets."""
    return redact(describe_error(exc, engine()))
