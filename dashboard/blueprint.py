"""The dashboard blueprint and what every page shares: the database session, paging, filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.clock import utc_text
from core.logs import get_logger
from core.models import SyncRun
from core.models.sync import RUN_COUNTERS
from core.redaction import redact

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
RUN_ERRORS_SHOWN = 200

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    # Its own URL so it never collides with an app-level /static.
    static_url_path="/dashboard-static",
)
log = get_logger("dashboard")


# -- request plumbing ----------------------------------------------------------------------------


def engine() -> Engine:
    """Return the app's engine, created once by the factory."""
    return current_app.extensions["syncline.engine"]


def db() -> Session:
    """Return this request's session, opened on first use and closed at teardown."""
    if "syncline_session" not in g:
        g.syncline_session = Session(engine())
    return g.syncline_session


@bp.teardown_app_request
def _close_session(exc: BaseException | None) -> None:
    session = g.pop("syncline_session", None)
    if session is not None:
        session.close()


@bp.app_errorhandler(404)
def not_found(exc: Exception) -> tuple[str, int]:
    """Render a 404 inside the dashboard's layout rather than Werkzeug's bare page."""
    return render_template("dashboard/404.html"), 404


# -- template helpers ----------------------------------------------------------------------------


@bp.app_template_filter("when")
def format_when(value: datetime | None) -> str:
    """Format a timestamp in UTC; naive values (SQLite returns those) are already UTC."""
    return "—" if value is None else utc_text(value)


@bp.app_template_filter("duration")
def format_duration(ms: int | None) -> str:
    """Format milliseconds as a short human duration: 850 ms, 12.4 s, 3m 05s."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes}m {seconds:02d}s"


#: Where a long identifier may break across lines: after these, never inside a word.
_BREAK_AFTER = re.compile(r"([_.@/])")


@bp.app_template_filter("breakable")
def breakable(value: Any) -> Markup:
    """Escape ``value`` and let it wrap after ``_ . @ /`` only (``<wbr>``, no CSS guessing).

    INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST then wraps as INVALID_OR_NULL_ / FOR_..., and an
    email at its dots; a copy still gives the text whole, as <wbr> adds no character.
    """
    if value is None:
        return Markup("")
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(value))))


@bp.app_template_filter("redact")
def redact_text(value: Any) -> str:
    """Pass remote text through the secret redactor again before display (defence in depth)."""
    return "" if value is None else redact(str(value))


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its rows and the links to its neighbours."""

    rows: list[Any]
    number: int
    prev_url: str | None
    next_url: str | None


def paginate(statement: Any, url: Callable[[int], str]) -> Page:
    """Run ``statement`` for ``?page=`` with LIMIT/OFFSET; one extra row tells if more exist.

    No COUNT(*): over a million error rows that alone would cost more than the page itself.
    """
    # Clamped: an absurd ?page= must give an empty page, not an integer overflow in the driver.
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows = list(db().exec(statement.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    has_next = len(rows) > PAGE_SIZE
    return Page(
        rows=rows[:PAGE_SIZE],
        number=number,
        prev_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if has_next else None,
    )


def page_link(endpoint: str) -> Callable[[int], str]:
    """Build links to other pages of this list that keep the current filters."""
    args = {k: v for k, v in request.args.items() if k != "page"}
    return lambda number: url_for(endpoint, **args, page=number)


def day_arg(name: str, problems: list[str]) -> date | None:
    """The ``?name=`` date (YYYY-MM-DD), or None; a bad one is noted in ``problems``."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{name}: {text!r} is not a date (YYYY-MM-DD); the range ignores it")
        return None


def known_mappings() -> list[str]:
    """List mapping names for filter menus: every mapping that has run (index-only scan)."""
    return list(db().exec(select(SyncRun.mapping).distinct().order_by(SyncRun.mapping)))


#: The sections in the top bar, in order; a section appears once its page module is loaded.
SECTIONS = (
    ("dashboard.overview", "Overview"),
    ("dashboard.runs", "Runs"),
    ("dashboard.errors", "Errors"),
    ("dashboard.mappings", "Mappings"),
    ("dashboard.connections", "Connections"),
    ("dashboard.inbound", "Inbound"),
    ("dashboard.attribution", "Attribution"),
    ("dashboard.scoring", "Scoring"),
)


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    return {
        "sections": [s for s in SECTIONS if s[0] in current_app.view_functions],
        "run_counters": RUN_COUNTERS,  # the runs pages' count columns, in order
    }


def local_path(target: str | None, fallback: str) -> str:
    """``target`` when it is a path on this site, else ``fallback`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    # Browsers read a backslash as a slash and drop tabs and newlines: /\evil.com is //evil.com.
    if any(c in target for c in "\\\t\r\n"):
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc else target
