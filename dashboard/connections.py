"""Connections: each remote system's last check and API usage, and a "check now" button.

The connections file holds secrets, so nothing from it is rendered except the connector type
and a short whitelist of plain settings (hosts of URLs, the auth flow, the API version and
budget); values still pass the redactor on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import col, select
from werkzeug.wrappers import Response

from connectors import REGISTRY, connector_class
from connectors.base import ApiUsage
from connectors.config import is_secret_key
from connectors.errors import ConnectorError
from core.clock import utcnow
from core.errors import InputError
from core.logs import event
from core.models import ConnectionStatus, SyncRun
from core.redaction import redact
from dashboard import workspace
from dashboard.auth import current_user
from dashboard.blueprint import bp, db, engine, log
from dashboard.charts import render_meter
from dashboard.workspace import Workspace
from jobs.budget import record_status

#: Plain settings worth showing as they are; URLs are shown by host only (see public_details).
SHOWN_SETTINGS = ("auth", "api_version", "api_budget")
#: "API calls by our runs" covers this window, like Salesforce's rolling daily allowance.
CALLS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """One connection as the pages show it: never its settings, only what is safe to read."""

    name: str
    type: str | None  # None: known only from stored status or mapping files, not the file
    details: list[tuple[str, str]]
    mappings: list[str]
    status: ConnectionStatus | None
    calls_24h: int
    budget: float | None  # the configured api_budget share, when set
    meter: Markup | None  # the usage bar, when the remote reported its allowance

    @property
    def share(self) -> float | None:
        """Share of the API allowance used as last reported (None when unknown)."""
        if self.status is None or not self.status.api_limit or self.status.api_used is None:
            return None
        return ApiUsage(self.status.api_used, self.status.api_limit).share


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check found: ok or not, a redacted one-line message, the usage it reported."""

    ok: bool
    message: str
    usage: ApiUsage | None = None


# -- reading ------------------------------------------------------------------------------------


def public_details(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The settings safe to show: URL hosts and whitelisted plain values, never a secret."""
    type_name = settings.get("type")
    declared = (
        connector_class(type_name).secret_keys
        if isinstance(type_name, str) and type_name in REGISTRY
        else frozenset()
    )
    details: list[tuple[str, str]] = []
    for key, value in settings.items():
        if not isinstance(key, str) or key == "type" or is_secret_key(key, declared):
            continue
        if key.endswith("url") and isinstance(value, str):
            host = _host(value)
            if host:
                details.append((f"{key} host", host))
        elif key in SHOWN_SETTINGS and isinstance(value, str | int | float):
            details.append((key, _shown_setting(key, value)))
    given = {key for key, _ in details}
    for key, value in setting_defaults(type_name).items():
        if key not in given:
            details.append((key, f"{_shown_setting(key, value)} (default)"))
    return [(key, redact(value)) for key, value in details]


def setting_defaults(type_name: Any) -> dict[str, Any]:
    """The defaults of the shown settings a connector type has (none for an unknown type).

    A setting left out of the file is shown with the value in force, so "which API version
    do we call?" has an answer; the type's settings model is where those defaults live.
    """
    if not isinstance(type_name, str) or type_name not in REGISTRY:
        return {}
    model = connector_class(type_name).settings_model
    return {
        name: str(info.default) if isinstance(info.default, StrEnum) else info.default
        for name, info in model.model_fields.items()
        if name in SHOWN_SETTINGS and not info.is_required()
    }


def _shown_setting(key: str, value: str | float) -> str:
    if key == "api_budget" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}: cycles pause at {value:.0%} of the daily API allowance"
    return str(value)


def _host(url: str) -> str | None:
    """Host and port of a URL, leaving out any user, password, path or query in it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return f"{parts.hostname}:{port}" if port else parts.hostname


def _budget(settings: Mapping[str, Any]) -> float | None:
    value = settings.get("api_budget")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        return None
    return float(value)


def api_calls_by_mapping(since: datetime, mappings: list[str]) -> dict[str, int]:
    """API calls our runs of ``mappings`` spent since ``since`` (summed in SQL, per mapping).

    Naming the mappings lets both databases walk ix_sync_run_mapping_started by range.
    """
    if not mappings:
        return {}
    rows = db().exec(
        select(SyncRun.mapping, func.sum(SyncRun.api_calls))
        .where(col(SyncRun.mapping).in_(mappings), col(SyncRun.started_at) >= since)
        .group_by(SyncRun.mapping)
    )
    return {mapping: int(total or 0) for mapping, total in rows}


def connection_views(
    space: Workspace, now: datetime, run_mappings: list[str]
) -> tuple[list[ConnectionView], int]:
    """Every connection (file order, then ones known only from status rows or mappings).

    Also returns the API calls of the last 24 hours spent by mappings no longer in the
    mapping files, which no connection can be credited with.
    """
    statuses = {row.connection: row for row in db().exec(select(ConnectionStatus))}
    used_by: dict[str, list[str]] = {}
    for name, mapping in sorted(space.mappings.items()):
        used_by.setdefault(mapping.connection, []).append(name)
    calls: dict[str, int] = {}
    unattributed = 0
    names_with_runs = sorted(set(run_mappings) | set(space.mappings))
    for mapping_name, total in api_calls_by_mapping(now - CALLS_WINDOW, names_with_runs).items():
        mapping = space.mappings.get(mapping_name)
        if mapping is None:
            unattributed += total
        else:
            calls[mapping.connection] = calls.get(mapping.connection, 0) + total
    in_file = space.connections.names if space.connections is not None else []
    names = list(in_file) + sorted((set(statuses) | set(used_by)) - set(in_file))
    views = []
    for name in names:
        settings = space.connections.get(name) if name in in_file and space.connections else {}
        status = statuses.get(name)
        budget = _budget(settings)
        views.append(
            ConnectionView(
                name=name,
                type=str(settings["type"]) if "type" in settings else None,
                details=public_details(settings),
                mappings=used_by.get(name, []),
                status=status,
                calls_24h=calls.get(name, 0),
                budget=budget,
                meter=_meter(status, budget),
            )
        )
    return views, unattributed


def _meter(status: ConnectionStatus | None, budget: float | None) -> Markup | None:
    if status is None or not status.api_limit or status.api_used is None:
        return None
    usage = ApiUsage(status.api_used, status.api_limit)
    label = (
        f"{usage.share:.0%} of the API allowance used "
        f"({usage.used:,} of {usage.limit:,} calls)"
    )
    if budget is not None:
        label += f"; cycles pause at {budget:.0%}"
    return render_meter(usage.share, label, budget)


@bp.route("/connections")
def connections() -> str:
    """Every connection: type, safe details, last check, API usage, mappings using it."""
    space = workspace.current()
    path = workspace.connections_path()
    run_mappings = list(db().exec(select(SyncRun.mapping).distinct()))
    views, unattributed = connection_views(space, utcnow(), run_mappings)
    return render_template(
        "dashboard/connections.html",
        views=views,
        unattributed=unattributed,
        in_file=space.connections.names if space.connections is not None else [],
        missing_file=space.connections is None and not space.problems and path is not None,
        no_file_configured=path is None,
        file_name=path.name if path is not None else None,
        problems=[redact(str(problem)) for problem in space.problems],
    )


# -- checking -----------------------------------------------------------------------------------


def check_connection(space: Workspace, name: str) -> CheckResult:
    """Build the connector, make its one cheap call, read its usage, close it; never raises."""
    try:
        connector = space.connector(name)
    except InputError as exc:
        # Where too (``connections.yaml:4 crm.page_size``): the admin edits that line.
        return CheckResult(False, redact(f"settings: {'; '.join(str(exc).splitlines())}"))
    except ConnectorError as exc:
        return CheckResult(False, redact(str(exc)))
    try:
        connector.check()
        usage = connector.usage()
        calls = connector.api_calls
        return CheckResult(True, f"OK: answered in {calls} API call{'s' * (calls != 1)}", usage)
    except ConnectorError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        return CheckResult(False, redact(f"{exc}{hint}"), connector.usage())
    except Exception as exc:  # a connector bug must end as a failed check, not a 500
        event(log, "connection.check_crashed", connection=name, error=type(exc).__name__)
        return CheckResult(False, redact(f"unexpected {type(exc).__name__}: {exc}"))
    finally:
        connector.close()


@bp.route("/connections/<name>/check", methods=["POST"])
def connection_check(name: str) -> Response:
    """Check one connection now (one API call, no data changed), then go back to the list.

    Open to viewers too: it changes no record and no setting, only the stored check result.
    """
    space = workspace.current()
    if space.connections is None or name not in space.connections:
        abort(404)
    result = check_connection(space, name)
    record_status(engine(), name, utcnow(), usage=result.usage, check=(result.ok, result.message))
    user = current_user()
    event(log, "connection.checked", connection=name, ok=result.ok,
          actor=user.email if user else None)
    if result.ok:
        flash(f"{name}: check passed. {result.message}", "success")
    else:
        flash(f"{name}: check failed. {result.message}", "error")
    return redirect(url_for("dashboard.connections", _anchor=f"connection-{name}"))
