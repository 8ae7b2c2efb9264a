"""Attribution at scale: a full recompute, then an incremental one after 1 % of touches change.

```
.venv/bin/python -m bench.attribution_recompute [--scale 1.0] [--database URL] [--models a,b]
    [--change 0.01] [--json]
```

At ``--scale 1`` the hub holds 100,000 opportunities and 1,000,000 touches (a smaller scale
shrinks every count alike). It looks like a marketing database: 400,000 people of whom the
first 150,000 are contacts on deals (one to three contact roles per opportunity, one of them
primary), 30,000 accounts, 200 campaigns; touches fall on any person over two years, 70 % of
them with a campaign. Half the opportunities are open, 30 % won, 20 % lost.

Reported: the full recompute's time and rows, the peak RSS of this process (the hub is
seeded by a child process, so seeding does not count), then the same after 1 % of the touches
move in time (fresh change_seqs, as a sync would write them): the opportunities that change
dirtied, the incremental run's time and its ratio to the full run (goal: under 1/20), and a
no-op run. Nothing is asserted. Models: ``mappings/attribution.yaml`` unless ``--models``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update

from attribution.config import AttributionSettings, parse_settings
from attribution.engine import run, settings_in
from core import clock, db
from core.models import (
    Account,
    AttributionCredit,
    Campaign,
    CampaignInfluence,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)
from core.sequence import reserve

REPO = Path(__file__).resolve().parent.parent
CHUNK = 20_000
KINDS = ("form_fill", "webinar_registration", "webinar_attended", "event", "ad_click",
         "email_click", "web_visit", "content_download", "sales_touch", "other")
CHANNELS = ("Webinar", "Email", "Paid Search", "Paid Social", "Event", "Content")
START = datetime(2024, 7, 1, tzinfo=UTC)
SPAN_DAYS = 730
#: The clock of the whole benchmark: open deals' journeys end here.
NOW = START + timedelta(days=SPAN_DAYS)


def _rows(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert hub rows with change_seqs reserved as the ORM would number them."""
    with db.session(engine) as session:
        for seq, row in zip(reserve(session, len(rows)), rows, strict=True):
            row.update(change_seq=seq, created_at=NOW, updated_at=NOW)
        session.execute(insert(model.__table__), rows)


def seed(url: str, scale: float, seed_value: int = 7) -> None:
    """Fill the hub (run in a child process, so its memory is not the benchmark's)."""
    rng = random.Random(seed_value)
    engine = db.make_engine(url)
    n_people, n_contacts = int(400_000 * scale), int(150_000 * scale)
    n_accounts, n_deals, n_touches = max(1, int(30_000 * scale)), int(100_000 * scale), int(
        1_000_000 * scale)
    _rows(engine, Account, [{"id": f"a{i}", "name": f"Account {i}", "attributes": {}}
                            for i in range(n_accounts)])
    _rows(engine, Campaign, [{"id": f"c{i}", "name": f"Campaign {i}", "attributes": {},
                              "channel": CHANNELS[i % len(CHANNELS)]} for i in range(200)])
    for first in range(0, n_people, CHUNK):
        _rows(engine, Person, [
            {"id": f"p{i}", "email": f"p{i}@example.com", "account_id": f"a{i % n_accounts}",
             "unsubscribed": False, "attributes": {}}
            for i in range(first, min(first + CHUNK, n_people))])
    for first in range(0, n_deals, CHUNK):
        deals, roles = [], []
        for i in range(first, min(first + CHUNK, n_deals)):
            created = START + timedelta(days=180 + rng.random() * (SPAN_DAYS - 240))
            fate = rng.random()
            closed = fate < 0.5
            close = (created + timedelta(days=rng.randint(10, 60))).date() if closed else None
            deals.append({"id": f"d{i}", "name": f"Deal {i}", "created_on": created,
                          "amount": round(rng.uniform(1_000, 90_000), 2), "is_closed": closed,
                          "is_won": fate < 0.3, "close_date": close,
                          "account_id": f"a{i % n_accounts}"})
            people = rng.sample(range(n_contacts), rng.randint(1, 3))
            roles += [{"id": f"r{i}-{k}", "opportunity_id": f"d{i}", "person_id": f"p{p}",
                       "is_primary": k == 0, "role": "Decision Maker" if k == 0 else None}
                      for k, p in enumerate(people)]
        _rows(engine, Opportunity, deals)
        _rows(engine, OpportunityContactRole, roles)
    for first in range(0, n_touches, CHUNK):
        touches = []
        for i in range(first, min(first + CHUNK, n_touches)):
            campaign = rng.randrange(200) if rng.random() < 0.7 else None
            touches.append({
                "id": f"t{i}", "person_id": f"p{rng.randrange(n_people)}",
                "occurred_at": START + timedelta(days=rng.random() * SPAN_DAYS),
                "touch_type": rng.choice(KINDS), "detail": {},
                "campaign_id": None if campaign is None else f"c{campaign}",
                "channel": None if campaign is None else CHANNELS[campaign % len(CHANNELS)],
            })
        _rows(engine, Touch, touches)
    engine.dispose()


def change_touches(engine: Engine, share: float, seed_value: int = 11) -> int:
    """Move ``share`` of the touches by up to a week, with fresh change_seqs."""
    rng = random.Random(seed_value)
    with db.session(engine) as session:
        total = session.execute(select(func.count()).select_from(Touch)).scalar_one()
        picked = rng.sample(range(total), int(total * share))
        table = Touch.__table__  # type: ignore[attr-defined]
        rows = [{"row_id": f"t{i}", "occurred_at": START + timedelta(
                    days=rng.random() * SPAN_DAYS), "change_seq": seq, "updated_at": NOW}
                for i, seq in zip(sorted(picked), reserve(session, len(picked)), strict=True)]
        session.execute(update(table).where(table.c.id == bindparam("row_id")), rows)
    return len(rows)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count(engine: Engine, model: Any) -> int:
    with db.session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _settings(models: str | None) -> AttributionSettings:
    if not models:
        return settings_in(REPO / "mappings")
    return parse_settings(f"models: [{models}]\n", "--models")


def measure(
    scale: float = 1.0, database: str | None = None, models: str | None = None,
    change: float = 0.01,
) -> dict[str, Any]:
    """Seed, run full, change, run incremental and idle; every figure."""
    settings = _settings(models)
    real_clock = clock.clock
    with tempfile.TemporaryDirectory() as folder:
        url = database or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = db.make_engine(url)
        db.init_db(engine)
        started = time.perf_counter()
        # A spawned child: forking a process that may hold threads (a test runner's) is unsafe.
        child = multiprocessing.get_context("spawn").Process(target=seed, args=(url, scale))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"seeding failed (exit code {child.exitcode})")
        seeded = time.perf_counter() - started
        clock.clock = lambda: NOW  # every run sees the same "now"
        try:
            rss_before = _peak_rss_mib()
            full = run(engine, settings, full=True)
            rss_full = _peak_rss_mib()
            changed = change_touches(engine, change)
            incremental = run(engine, settings)
            idle = run(engine, settings)
        finally:
            clock.clock = real_clock  # a caller running another bench next needs real time
        figures = {
            "scale": scale, "models": [m.name for m in settings.models],
            "opportunities": _count(engine, Opportunity), "touches": _count(engine, Touch),
            "seed_seconds": round(seeded, 1),
            "full_seconds": round(full.seconds, 2), "full_credit_rows": full.credit_rows,
            "campaign_influence_rows": _count(engine, CampaignInfluence),
            "credit_rows_total": _count(engine, AttributionCredit),
            "peak_rss_mib_before": round(rss_before, 1), "peak_rss_mib_full": round(rss_full, 1),
            "touches_changed": changed, "incremental_opportunities": incremental.opportunities,
            "incremental_seconds": round(incremental.seconds, 2),
            "incremental_influence_rows": incremental.influence_rows,
            "ratio_incremental_to_full": round(incremental.seconds / full.seconds, 4),
            "idle_seconds": round(idle.seconds, 3), "idle_opportunities": idle.opportunities,
            "per_opportunity_ms": round(1000 * full.seconds / max(full.opportunities, 1), 3),
            "peak_rss_mib": round(_peak_rss_mib(), 1),
        }
        engine.dispose()
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    """The figures one a line, then whether the goal was met."""
    for key, value in figures.items():
        print(f"{key:28} {value}")
    print(f"{'goal':28} incremental under 1/20 of full: "
          f"{'met' if figures['ratio_incremental_to_full'] < 0.05 else 'NOT met'}")


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of this bench (``bench.attribution_all`` offers them too)."""
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 = 100,000 opportunities × 1,000,000 touches")
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--models", help="comma-separated shipped models (default: the file's)")
    parser.add_argument("--change", type=float, default=0.01, help="share of touches changed")
    parser.add_argument("--json", action="store_true", help="one JSON object")


def main(argv: list[str] | None = None) -> int:
    """Seed, run, print the figures; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_options(parser)
    args = parser.parse_args(argv)
    figures = measure(args.scale, args.database, args.models, args.change)
    if args.json:
        print(json.dumps(figures))
    else:
        print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
