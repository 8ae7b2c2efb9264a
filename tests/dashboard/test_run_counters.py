"""One set of run counters: the report, the ``sync_run`` row, the CLI and the runs pages agree.

Each counter gets a different value, so a counter one of them leaves out or mixes up shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine, inspect

from cli.output import HEADINGS
from core.db import session
from core.models import SyncRun
from core.models.sync import MOVED_COUNTERS, RUN_COUNTERS
from jobs.report import JSON_KEYS, RunReport
from jobs.runs import close_run, open_run

#: A distinct value per counter: 11, 12, 13, ...
VALUES = {counter.name: 11 + i for i, counter in enumerate(RUN_COUNTERS)}


def test_a_closed_run_row_holds_every_count_of_its_report(engine: Engine) -> None:
    assert {c.name for c in RUN_COUNTERS} <= {c["name"] for c in inspect(engine).get_columns(
        "sync_run")}, "every counter is a column of the migrated table"
    report = RunReport(mapping="lead", status="partial", **VALUES)
    report.run_id = open_run(engine, "lead", "manual")
    close_run(engine, report)
    with session(engine) as db:
        run = db.get(SyncRun, report.run_id)
        assert run is not None
        assert {name: getattr(run, name) for name in VALUES} == VALUES
        assert run.status == "partial"
        assert run.moved == report.writes == sum(VALUES[name] for name in MOVED_COUNTERS)


def test_the_cli_names_every_counter_in_json_and_in_its_table() -> None:
    assert list(JSON_KEYS) == ["mapping", "status", *VALUES]
    assert list(HEADINGS) == ["status", *VALUES]
    printed = RunReport(mapping="lead", **VALUES).as_json()
    assert {name: printed[name] for name in VALUES} == VALUES


def cells(html: str) -> list[str]:
    return re.findall(r'<t[dh] class="num">([^<]*)</t[dh]>', html)


def test_the_runs_pages_show_every_counter_under_its_heading(
    client: FlaskClient, add_run: Callable[..., SyncRun]
) -> None:
    run = add_run(**VALUES, duration_ms=1500, backlog=7)
    listing = cells(client.get("/runs").get_data(as_text=True))
    headings = [counter.heading for counter in RUN_COUNTERS]
    values = [str(VALUES[name]) for name in VALUES]
    assert listing[:len(headings)] == headings
    assert listing[len(headings) + 2:2 * len(headings) + 2] == values

    detail = cells(client.get(f"/runs/{run.id}").get_data(as_text=True))
    records = [counter for counter in RUN_COUNTERS if counter.records]
    moved = str(sum(VALUES[name] for name in MOVED_COUNTERS))
    assert detail == [*(c.heading for c in records), "Moved",
                      *(str(VALUES[c.name]) for c in records), moved]
