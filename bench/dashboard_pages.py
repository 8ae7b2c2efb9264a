"""Benchmark: the dashboard's errors pages over 1,000,000 sync_error rows (target p95 200 ms).

``.venv/bin/python -m bench.dashboard_pages --backend both`` seeds N realistic sync errors (the
shipped mappings, skewed causes, four statuses, 90 days) in a dedicated PostgreSQL database
and in a SQLite file, logs a Flask test client into the real app as an admin and requests the
errors list, filtered, searched and dated pages, the grouped view and page 500 many times
each. It prints p50/p95/max per URL and backend, how much of that the database took, and
PASS/MISS against the target (p95 <= 200 ms); ``--explain`` adds each page's query plans.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import session as flask_session
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlmodel import Session, select

from app import create_app
from bench.error_seed import Seeded, Seeder, newest
from connectors.errors import ErrorKind
from core import clock, db
from core.accounts import add_user
from core.models import User
from dashboard.auth.guard import remember
from jobs import causes
from jobs.failures import Failure, FailureLog

REPO = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 200.0
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
#: The bench's own database on that server; the test suite's ``test`` is never touched.
PG_DATABASE = "syncline_bench"
SQLITE_KEPT = Path(tempfile.gettempdir()) / "syncline_bench.db"
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway account in a throwaway database

# -- the databases ---------------------------------------------------------------------------------


def error_count(engine: Engine) -> int | None:
    """Rows in sync_error, None when the database has no schema yet."""
    if db.schema_revision(engine) is None:
        return None
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM sync_error")).scalar_one())


def pg_database(server: str, *, fresh: bool) -> str:
    """The bench database's URL, (re)created empty when ``fresh`` or missing."""
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": PG_DATABASE}).first() is not None
            if exists and fresh:
                connection.execute(text(f'DROP DATABASE "{PG_DATABASE}" WITH (FORCE)'))
            if fresh or not exists:
                connection.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    finally:
        admin.dispose()
    return f"{server}/{PG_DATABASE}"


def drop_pg_database(server: str) -> None:
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prepare(backend: str, args: argparse.Namespace, workdir: Path) -> tuple[str, Seeded]:
    """The database URL for ``backend``, seeded with ``args.rows`` errors or reused."""
    if backend == "postgres":
        url = pg_database(args.pg_server, fresh=not args.reuse)
    else:
        path = SQLITE_KEPT if args.keep or args.reuse else workdir / "bench.db"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    try:
        found = error_count(engine)
        db.init_db(engine)  # also applies migrations added since a kept database was seeded
        if found is not None and found != args.rows:
            engine.dispose()
            say(f"{backend}: {found:,} rows, not {args.rows:,}: seeding afresh")
            return prepare(backend, argparse.Namespace(**{**vars(args), "reuse": False}),
                           workdir)
        if found is None or not found:
            say(f"{backend}: seeding {args.rows:,} errors")
            seeded = Seeder(engine, args.rows).seed()
            add_user(engine, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
        else:
            seeded = Seeded(found, reused=True)
        if backend == "sqlite":
            sqlite_statistics(engine, analyze=args.sqlite_analyze)
        return url, seeded
    finally:
        engine.dispose()


def sqlite_statistics(engine: Engine, *, analyze: bool) -> None:
    """Give SQLite's planner statistics (--sqlite-analyze) or take them away, as the app has none.

    Nothing in Syncline runs ANALYZE today, so by default the bench measures without
    sqlite_stat1; with the flag it measures what ``PRAGMA optimize`` would leave behind.
    """
    with engine.begin() as connection:
        if analyze:
            connection.execute(text("ANALYZE"))
        elif connection.execute(text("SELECT 1 FROM sqlite_master "
                                     "WHERE name = 'sqlite_stat1'")).first():
            connection.execute(text("DELETE FROM sqlite_stat1"))


def write_cost(url: str, count: int) -> tuple[float, float, float]:
    """What a sync cycle pays per failure and per commit on this table, rolled back after.

    Milliseconds per new error and per recurrence through FailureLog (every index on
    sync_error is maintained here), and for the recount of the biggest mapping's causes
    (salesforce-lead) that FailureLog runs before each commit.
    """
    engine = db.make_engine(url)
    failure = Failure(ErrorKind.VALIDATION, "Phone: bench write check", "BENCH_WRITE", "Phone")
    try:
        with Session(engine) as session:
            log = FailureLog(session, "salesforce-lead", "to_remote", None, clock.utcnow())
            times = []
            for _ in ("new", "again"):
                started = time.perf_counter()
                for n in range(count):
                    log.record(failure, hub_object="person", hub_id=f"{n:032x}",
                               email=f"write{n}@bench.example.com", remote_object="Lead")
                session.flush()
                times.append(1000 * (time.perf_counter() - started) / count)
            started = time.perf_counter()
            causes.recount(session, ["salesforce-lead"])
            times.append(1000 * (time.perf_counter() - started))
            session.rollback()
    finally:
        engine.dispose()
    return times[0], times[1], times[2]


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Probe:
    """The statements a request sends and the time they take (a cursor-event listener)."""

    capture: bool = False
    statements: list[tuple[str, Any]] = field(default_factory=list)
    db_seconds: float = 0.0

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()
        if self.capture:
            self.statements.append((statement, parameters))

    def _after(self, conn: Any, *_: Any) -> None:
        self.db_seconds += time.perf_counter() - conn.info.pop("bench_started")


@dataclass
class Timing:
    """One URL on one backend: every request's time, the database's share, the page's rows."""

    backend: str
    name: str
    url: str
    status: int = 0
    rows: int = 0
    ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    note: str = ""

    def pct(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    @property
    def p95(self) -> float:
        return self.pct(self.ms, 0.95)

    @property
    def met(self) -> bool:
        return self.status == 200 and self.p95 <= TARGET_P95_MS


def page_urls(engine: Engine) -> list[tuple[str, str, str | None]]:
    """(name, URL, text the page must show) per page measured; values picked from the data."""
    with engine.connect() as connection:
        email, hub_id = connection.execute(text(
            "SELECT email, hub_id FROM sync_error WHERE status = 'open' AND email IS NOT NULL "
            "AND id >= (SELECT max(id) / 2 FROM sync_error) ORDER BY id LIMIT 1")).one()
        last = newest(connection.execute(text("SELECT max(last_seen) FROM sync_error"))
                      .scalar_one())
    until = (last - timedelta(days=30)).date()
    since = until - timedelta(days=7)
    return [
        ("list (open + retrying)", "/errors", None),
        ("mapping + kind", "/errors?" + urlencode({"mapping": "salesforce-lead",
                                                    "kind": "validation"}), "salesforce-lead"),
        ("code + field", "/errors?" + urlencode({"code": "REQUIRED_FIELD_MISSING",
                                                  "field": "LastName"}), "REQUIRED_FIELD_MISSING"),
        ("one small mapping", "/errors?mapping=dynamics-list", "dynamics-list"),
        ("search email", "/errors?" + urlencode({"q": email}), email),
        ("search hub id", "/errors?" + urlencode({"q": hub_id}), None),
        ("date range (a week)", "/errors?" + urlencode({"from": since.isoformat(),
                                                         "to": until.isoformat()}), None),
        ("grouped by cause", "/errors/groups", "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        ("grouped, one mapping", "/errors/groups?mapping=salesforce-lead", "salesforce-lead"),
        ("page 500", "/errors?page=500", None),
    ]


def logged_in(client: FlaskClient, engine: Engine) -> FlaskClient:
    """The client with the bench admin's login in its session, as the login form leaves it."""
    with db.session(engine) as session:
        user = session.exec(select(User).where(User.email == ADMIN_EMAIL)).one()
    with client.application.test_request_context():
        remember(user)
        values = dict(flask_session)
    with client.session_transaction() as cookie:
        cookie.update(values)
    return client


def table_rows(html: str) -> int:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return body.group(1).count("<tr") if body else 0


def measure(backend: str, url: str, args: argparse.Namespace) -> tuple[list[Timing], list[str]]:
    """Request every page through the real app, logged in; with --explain, plan its queries."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "MAPPINGS_DIR": str(REPO / "mappings"),
                      "CONNECTIONS": str(REPO / "connections.example.yaml")})
    engine: Engine = app.extensions["syncline.engine"]
    probe = Probe()
    probe.attach(engine)
    client = logged_in(app.test_client(), engine)
    timings, plans = [], []
    try:
        for name, path, expect in page_urls(engine):
            timing = Timing(backend, name, path)
            timings.append(timing)
            response = client.get(path)
            timing.status = response.status_code
            if response.status_code != 200:
                timing.note = f"HTTP {response.status_code}"
                continue
            html = response.get_data(as_text=True)
            timing.rows = table_rows(html)
            if expect and expect not in html[html.find("<tbody>"):]:
                timing.note = f"page does not show {expect!r}: filter ignored?"
            for _ in range(args.warmup):
                client.get(path)
            for _ in range(args.requests):
                probe.db_seconds = 0.0
                started = time.perf_counter()
                client.get(path)
                timing.ms.append(1000 * (time.perf_counter() - started))
                timing.db_ms.append(1000 * probe.db_seconds)
            if args.explain:
                probe.capture, probe.statements = True, []
                client.get(path)
                probe.capture = False
                plans += explain(engine, backend, name, probe.statements)
    finally:
        engine.dispose()
    return timings, plans


def explain(engine: Engine, backend: str, name: str,
            statements: list[tuple[str, Any]]) -> list[str]:
    """The plan of every statement of one request that reads sync_error."""
    lines = []
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgres" else "EXPLAIN QUERY PLAN "
    with engine.connect() as connection:
        for statement, parameters in statements:
            if "sync_error" not in statement:
                continue
            lines += ["", f"--- {backend}: {name}", statement.strip(), f"params: {parameters}"]
            result = connection.exec_driver_sql(prefix + statement, parameters)
            if backend == "postgres":
                lines += [f"  {row[0]}" for row in result]
            else:
                lines += [f"  {'  ' * (row[1] > 0)}{row[3]}" for row in result]
    return lines


# -- the report -----------------------------------------------------------------------------------


@dataclass
class Backend:
    """What one backend's run found besides the timings: its seed, indexes and write cost."""

    name: str
    seeded: Seeded
    indexes: list[str]
    write_ms: tuple[float, float, float] | None
    note: str = ""

    def describe(self) -> list[str]:
        lines = [f"{self.name}: {self.seeded.describe()}{self.note}",
                 f"  indexes on sync_error: {', '.join(self.indexes)}"]
        if self.write_ms:
            lines.append(f"  writes through FailureLog: {self.write_ms[0]:.2f} ms per new error, "
                         f"{self.write_ms[1]:.2f} ms per recurrence; recounting "
                         f"salesforce-lead's causes before commit {self.write_ms[2]:.0f} ms")
        return lines


def index_names(url: str) -> list[str]:
    engine = db.make_engine(url)
    try:
        return sorted(index["name"] for index in inspect(engine).get_indexes("sync_error")
                      if index["name"])
    finally:
        engine.dispose()


def render(timings: list[Timing], backends: list[Backend], args: argparse.Namespace) -> str:
    lines = [f"Errors pages benchmark: {args.rows:,} sync_error rows, {args.requests} requests "
             f"per URL after {args.warmup} warm-up, Flask test client logged in as an admin"]
    for backend in backends:
        lines += backend.describe()
    header = ("backend", "page", "rows", "p50 ms", "p95 ms", "max ms", "db p50", "db p95",
              "p95/target", "")
    table = [header]
    for t in timings:
        if not t.ms:
            table.append((t.backend, t.name, "-", "-", "-", "-", "-", "-", "-", t.note))
            continue
        table.append((t.backend, t.name, str(t.rows), f"{t.pct(t.ms, 0.5):.1f}",
                      f"{t.p95:.1f}", f"{max(t.ms):.1f}", f"{t.pct(t.db_ms, 0.5):.1f}",
                      f"{t.pct(t.db_ms, 0.95):.1f}", f"{t.p95 / TARGET_P95_MS:.2f}x", t.note))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines.append("")
    for number, row in enumerate(table):
        lines.append("  ".join(cell.ljust(w) if i in (0, 1, 9) else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     .rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", f"targets (p95 <= {TARGET_P95_MS:.0f} ms):"]
    for t in timings:
        got = f"p95 {t.p95:.1f} ms" if t.ms else t.note
        lines.append(f"  [{'PASS' if t.met else 'MISS'}] {t.backend}: {t.name} ({t.url}): {got}")
    return "\n".join(lines)


# -- the command ----------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_pages", description=__doc__)
    parser.add_argument("--backend", default="both", choices=("postgres", "sqlite", "both"))
    parser.add_argument("--rows", type=int, default=1_000_000, help="sync_error rows to seed")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per URL")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per URL first")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of each page's sync_error queries")
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the seeded databases ({PG_DATABASE}, {SQLITE_KEPT})")
    parser.add_argument("--reuse", action="store_true",
                        help="use the kept databases when they hold --rows errors (implies "
                             "--keep; new migrations are applied to them)")
    parser.add_argument("--sqlite-analyze", action="store_true",
                        help="run ANALYZE on the SQLite database first (the app never does: "
                             "without the flag its statistics are removed)")
    parser.add_argument("--writes", type=int, default=1000,
                        help="errors recorded (then rolled back) to time the write cost; 0: skip")
    parser.add_argument("--pg-server", default=PG_SERVER,
                        help="PostgreSQL server URL without the database name")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.keep = args.keep or args.reuse
    names = ("postgres", "sqlite") if args.backend == "both" else (args.backend,)
    timings: list[Timing] = []
    plans: list[str] = []
    backends: list[Backend] = []
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as workdir:
        for name in names:
            try:
                url, seeded = prepare(name, args, Path(workdir))
                say(f"{name}: {seeded.describe()}; measuring")
                found, explained = measure(name, url, args)
                timings += found
                plans += explained
                writes = write_cost(url, args.writes) if args.writes else None
                note = ""
                if name == "sqlite":
                    note = ("; planner statistics: " +
                            ("ANALYZE (--sqlite-analyze)" if args.sqlite_analyze else
                             "none, as the app runs today"))
                backends.append(Backend(name, seeded, index_names(url), writes, note))
            finally:
                if name == "postgres" and not args.keep:
                    drop_pg_database(args.pg_server)
    print(render(timings, backends, args))
    if plans:
        print("\nquery plans:" + "\n".join(plans))
    return 0


if __name__ == "__main__":
    sys.exit(main())
