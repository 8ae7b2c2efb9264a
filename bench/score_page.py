"""Benchmark: the Scoring page over 1,000,000 people (histograms, funnel, AQL per week).

``.venv/bin/python -m bench.score_page --backend both`` seeds N people (custom score fields in
``attributes``, ``score``, AQL on a third of them) and one to three stage changes each in the
last 120 days, in a SQLite file and in a PostgreSQL database of its own, with SQL alone
(seconds, not minutes). It then times each aggregation of :mod:`dashboard.score_stats` and the
whole page through a logged-in Flask test client, and prints the median and the worst of
``--repeat`` runs per backend: computed afresh, and again with the data unchanged (the page
keeps its results until a person, an account or the stage history changes).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from app import create_app
from attribution.report import DateRange
from bench.dashboard_pages import ADMIN_EMAIL, ADMIN_PASSWORD, logged_in
from core import db
from core.accounts import add_user
from core.clock import utcnow
from core.hubschema import HubSchema
from dashboard.score_stats import aql_weeks, forget, funnel, histograms

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
#: Its own database: other benches' and the tests' databases are never touched.
PG_DATABASE = "syncline_bench_score_page"
STAGES = ("Known", "Engaged", "MQL")

# The seed, one statement each; {rows} is a row source of n = 1..N for the dialect.
SERIES = {
    "sqlite": "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) "
              "SELECT n FROM s",
    "postgres": "SELECT generate_series(1, :count) AS n",
}
PEOPLE = {
    "sqlite": """INSERT INTO person (id, change_seq, email, score, lifecycle_stage,
        stage_entered_at, aql, aql_at, unsubscribed, attributes)
        SELECT printf('%032x', n), n, 'p' || n || '@example.com', n * 7 % 120, 'MQL', '{{}}',
               n % 3 = 0, CASE WHEN n % 3 = 0 THEN datetime(:now, '-' || (n % 120) || ' days')
               END, 0,
               json_object('fit_score', n * 3 % 60, 'behavior_score', n * 5 % 90,
                           'score_product_a', n % 40)
        FROM ({rows})""",
    "postgres": """INSERT INTO person (id, change_seq, email, score, lifecycle_stage,
        stage_entered_at, aql, aql_at, unsubscribed, attributes)
        SELECT lpad(to_hex(n), 32, '0'), n, 'p' || n || '@example.com', n * 7 % 120, 'MQL',
               '{{}}', n % 3 = 0, CASE WHEN n % 3 = 0 THEN CAST(:now AS timestamp)
               - (n % 120) * interval '1 day' END, false,
               json_build_object('fit_score', n * 3 % 60, 'behavior_score', n * 5 % 90,
                                 'score_product_a', n % 40)
        FROM ({rows}) AS s""",
}
HISTORY = {
    "sqlite": """INSERT INTO lifecycle_history (person_id, from_stage, to_stage, at, rule, reason)
        SELECT printf('%032x', n), {before}, '{stage}',
               datetime(:now, '-' || (120 - n % 110 - {step} * 4) || ' days'),
               'transitions[{step}]', 'bench'
        FROM ({rows}) WHERE n % 3 >= {step}""",
    "postgres": """INSERT INTO lifecycle_history (person_id, from_stage, to_stage, at, rule, reason)
        SELECT lpad(to_hex(n), 32, '0'), {before}, '{stage}',
               CAST(:now AS timestamp) - (120 - n % 110 - {step} * 4) * interval '1 day',
               'transitions[{step}]', 'bench'
        FROM ({rows}) AS s WHERE n % 3 >= {step}""",
}


def database(backend: str, workdir: Path) -> str:
    """An empty database for ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'score_page.db'}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return f"{PG_SERVER}/{PG_DATABASE}"


def seed(engine: Engine, backend: str, count: int) -> None:
    """``count`` people and their stage changes, by SQL."""
    now = utcnow().replace(tzinfo=None).isoformat(sep=" ")
    rows = SERIES[backend]
    with engine.begin() as connection:
        connection.execute(text(PEOPLE[backend].format(rows=rows)), {"count": count, "now": now})
        for step, stage in enumerate(STAGES):
            before = f"'{STAGES[step - 1]}'" if step else "NULL"
            connection.execute(text(HISTORY[backend].format(
                rows=rows, before=before, stage=stage, step=step)), {"count": count, "now": now})
        if backend == "postgres":
            connection.execute(text("ANALYZE"))


def timed(repeat: int, work: Callable[[], Any], *, cold: bool) -> tuple[float, float]:
    """Median and worst wall time of ``work`` in milliseconds; ``cold``: nothing kept before."""
    times = []
    for _ in range(repeat):
        if cold:
            forget()
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def report(backend: str, name: str, repeat: int, work: Callable[[], Any]) -> None:
    """Time ``work`` computed afresh, then again with the data unchanged (kept results)."""
    for cold in (True, False):
        median, worst = timed(repeat, work, cold=cold)
        what = "computed" if cold else "unchanged"
        print(f"{backend}: {name:<30} {what:<9} median {median:8.0f} ms  worst {worst:8.0f} ms")


def run(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    """Seed, then time each aggregation and the page on one backend."""
    url = database(backend, workdir)
    engine = db.make_engine(url)
    db.init_db(engine)
    start = time.perf_counter()
    seed(engine, backend, args.people)
    print(f"{backend}: seeded {args.people:,} people in {time.perf_counter() - start:.1f} s")
    add_user(engine, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
    folder = workdir / "mappings"
    folder.mkdir(exist_ok=True)
    for name in ("hub.yaml", "scoring.yaml", "lifecycle.yaml"):
        shutil.copy(REPO / "mappings" / name, folder / name)
    schema = HubSchema.load(folder / "hub.yaml")
    today = utcnow().date()
    dates = DateRange(today - timedelta(days=90), today)
    fields = ["fit_score", "behavior_score", "score_product_a", "score"]
    main_path = ["Anonymous", "Known", "Engaged", "MQL", "SAL", "SQL", "Opportunity", "Customer"]
    with Session(engine) as session:
        for name, work in [
            ("histograms (4 person fields)", lambda: histograms(session, schema, "person", fields)),
            ("funnel (90 days)", lambda: funnel(session, main_path, dates)),
            ("AQL per week (90 days)", lambda: aql_weeks(session, dates)),
        ]:
            report(backend, name, args.repeat, work)
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "MAPPINGS_DIR": str(folder)})
    client = logged_in(app.test_client(), engine)

    def page() -> None:
        response = client.get("/scoring")
        assert response.status_code == 200, response.status_code

    report(backend, "GET /scoring (whole page)", args.repeat, page)
    engine.dispose()
    app.extensions["syncline.engine"].dispose()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the bench on each backend asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as workdir:
        for backend in backends:
            run(backend, args, Path(workdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
