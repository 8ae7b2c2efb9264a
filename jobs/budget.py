"""The API budget: cycles stop starting before a connection burns its daily API allowance.

Salesforce reports usage on every response (``Sforce-Limit-Info``); connectors expose what
they last saw through ``usage()``. Each cycle stores it in ``connection_status`` because
connectors live for one cycle only. A cycle whose connection was last seen above its budget
makes one cheap call to learn whether calls have aged out of the rolling window, and only
then goes on; while usage stays above the budget it records one job-level error saying so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from connectors.base import ApiUsage, Connector
from connectors.errors import ConnectorError, ErrorKind
from core.db import session as db_session
from core.models import ConnectionStatus
from jobs.failures import Failure

#: While over budget, re-ask the remote at most this often (each check is one API call).
RECHECK_EVERY = timedelta(minutes=10)
CODE = "API_BUDGET_REACHED"


def last_usage(engine: Engine, connection: str) -> tuple[ApiUsage | None, datetime | None]:
    """The allowance a connection last reported, and when."""
    with db_session(engine) as session:
        row = session.get(ConnectionStatus, connection)
        if row is None or row.api_used is None or row.api_limit is None:
            return None, None
        return ApiUsage(row.api_used, row.api_limit), row.usage_at


def record_usage(engine: Engine, connection: str, usage: ApiUsage | None, now: datetime) -> None:
    """Keep what the connector last saw for the next cycle and the dashboard."""
    if usage is not None:
        record_status(engine, connection, now, usage=usage)


def record_status(
    engine: Engine,
    connection: str,
    now: datetime,
    *,
    usage: ApiUsage | None = None,
    check: tuple[bool, str] | None = None,
) -> None:
    """Store a connection's API usage and/or a health check result (ok, message)."""
    for attempt in range(2):
        try:
            with db_session(engine) as session:
                row = session.get(ConnectionStatus, connection) or ConnectionStatus(
                    connection=connection
                )
                if usage is not None:
                    row.api_used, row.api_limit, row.usage_at = usage.used, usage.limit, now
                if check is not None:
                    row.checked_at, (row.check_ok, row.check_message) = now, check
                session.add(row)
            return
        except IntegrityError:
            # Another process (a cycle, the dashboard) stored this connection's first row
            # meanwhile: update that one.
            if attempt:
                raise


def over_budget(
    engine: Engine, connection: str, connector: Connector, now: datetime
) -> Failure | None:
    """A job-level failure when the connection is above its budget; None when a cycle may run."""
    budget = connector.api_budget
    if budget is None:
        return None
    usage, seen_at = last_usage(engine, connection)
    if usage is None or usage.share < budget:
        return None
    if seen_at is None or now - seen_at >= RECHECK_EVERY:
        try:
            connector.check()  # one call: has the rolling window freed enough?
        except ConnectorError as exc:
            if exc.kind is not ErrorKind.RATE_LIMITED:
                raise
        fresh = connector.usage()
        if fresh is not None:
            record_usage(engine, connection, fresh, now)
            usage, seen_at = fresh, now
            if usage.share < budget:
                return None
    resume = (seen_at or now) + RECHECK_EVERY
    return Failure(
        ErrorKind.RATE_LIMITED,
        f"{connection} has used {usage.used:,} of its {usage.limit:,} daily API calls "
        f"({usage.share:.0%}); cycles pause at {budget:.0%} so people and other "
        f"integrations keep the rest. Next check at {resume:%Y-%m-%d %H:%M} UTC; syncing "
        "resumes by itself once usage is below the budget again, as the remote frees its "
        "allowance.",
        code=CODE,
        hint=f"raise api_budget for {connection} in the connections file, or reduce how often "
        "its mappings run (schedule:) if this happens every day",
    )
