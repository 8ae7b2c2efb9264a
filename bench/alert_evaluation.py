"""How long one evaluation of the shipped alert rules takes on a hub with months of history.

    .venv/bin/python -m bench.alert_evaluation [--rows 1000000] [--database URL] [--evaluations 10]

Seeds a fresh database like ``bench.dashboard_pages`` does (hourly runs of every shipped mapping for
90 days, ``--rows`` sync errors with their cause counts), then evaluates the shipped
``mappings/alerts.yaml`` (its channels off, so nothing is sent) ``--evaluations`` times, one
simulated minute apart, and prints the median and slowest evaluation. It asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from alerts.evaluate import evaluate_alerts
from alerts.rules import load_alerts
from bench.error_seed import Seeder, shipped_mappings
from core import clock, db, logs

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    """Seed, evaluate, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="sync errors to seed")
    parser.add_argument("--database", help="an empty database URL (default: SQLite in /tmp)")
    parser.add_argument("--evaluations", type=int, default=10)
    args = parser.parse_args()
    logs.configure("ERROR")  # the alerts that fire on the seeded history are not the point
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(args.database or f"sqlite:///{folder}/alerts-bench.db")
        try:
            db.init_db(engine)
            seeded = Seeder(engine, args.rows).seed()
            print(f"{engine.dialect.name}: {args.rows:,} errors, {seeded.describe()}")
            rules = load_alerts(REPO / "mappings" / "alerts.yaml", env={})
            watched = [mapping.name for mapping in shipped_mappings()]
            now = clock.utcnow()
            timings = []
            for minute in range(args.evaluations):
                started = time.perf_counter()
                evaluate_alerts(engine, rules, now + timedelta(minutes=minute),
                                watched_mappings=watched)
                timings.append((time.perf_counter() - started) * 1000)
            print(f"{len(rules.rules)} rules x {len(watched)} mappings, {args.evaluations} "
                  f"evaluations: median {statistics.median(timings):.0f} ms, "
                  f"slowest {max(timings):.0f} ms (the first creates the state rows)")
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
