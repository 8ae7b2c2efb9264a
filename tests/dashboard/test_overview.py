"""Overview: each mapping's health and next run, the throughput charts, the API budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from core.db import session
from core.models import ConnectionStatus, SyncError, SyncRun
from tests.dashboard.conftest import BASE
from tests.dashboard.workspace_files import freeze_clock, mapping_yaml, use_files

AddRun = Callable[..., SyncRun]
AddError = Callable[..., SyncError]

#: 12:30 UTC on the day the fixtures' runs start (BASE is 09:00).
NOW = BASE + timedelta(hours=3, minutes=30)


def minutes_from_base(when: datetime) -> int:
    return int((when - BASE) / timedelta(minutes=1))


@pytest.fixture
def files(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_files(
        app,
        tmp_path,
        {
            "crm": {"type": "memory", "path": str(tmp_path / "crm.json")},
            "webinar": {"type": "memory", "path": str(tmp_path / "webinar.json")},
            "sf": {"type": "salesforce", "login_url": "https://login.salesforce.com",
                   "client_id": "cid", "client_secret": "sf-secret-1a2b3c4d",
                   "username": "u@example.com", "password": "sf-password-5e6f7a",
                   "api_budget": 0.5},
        },
        [
            mapping_yaml("crm-person", "crm", schedule="30s"),
            mapping_yaml("webinar-person", "webinar", schedule="1h"),
            mapping_yaml("hourly-person", "crm", schedule="0 * * * *"),
            mapping_yaml("paused-person", "crm", enabled=False),
            mapping_yaml("never-person", "sf"),
        ],
    )
    freeze_clock(monkeypatch, NOW)


def get(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.data[:500]
    return response.get_data(as_text=True)


def row_of(html: str, mapping: str) -> str:
    """The overview table row of one mapping."""
    match = re.search(rf'<tr>\s*<td><a href="/runs\?mapping={mapping}">{mapping}</a>.*?</tr>',
                      html, re.S)
    assert match, f"no row for {mapping}"
    return match.group(0)


def svg(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg[^>]*aria-labelledby="{chart_id}-title.*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def test_every_configured_mapping_gets_a_row_even_without_runs(
    client: FlaskClient, files: None
) -> None:
    html = get(client, "/")
    assert "No sync has run yet" in html and "syncline sync" in html
    for name in ("crm-person", "webinar-person", "hourly-person", "paused-person", "never-person"):
        assert "never run" in row_of(html, name)
    assert "<svg" not in html  # no throughput before the first run


def test_health_values_and_next_run(
    client: FlaskClient, files: None, add_run: AddRun, add_error: AddError
) -> None:
    add_run("crm-person", minutes=0)
    last = add_run("crm-person", minutes=120, status="partial", created_hub=2, updated_hub=3,
                   created_remote=4, updated_remote=5, deleted=9, failed=1, backlog=37,
                   api_calls=12)
    webinar = add_run("webinar-person", minutes=190, backlog=0)
    add_run("hourly-person", minutes=200)
    add_run("paused-person", minutes=10)
    add_error("crm-person", status="open")
    add_error("crm-person", status="retrying")
    add_error("crm-person", status="ignored")
    add_error("gone-person", status="open")

    html = get(client, "/")
    assert "No sync has run yet" not in html
    crm = row_of(html, "crm-person")
    assert f'href="/runs/{last.id}"' in crm and "badge-partial" in crm
    assert '<td class="num">14</td>' in crm  # moved: 2+3+4+5, deletes not counted
    assert '<td class="num">37</td>' in crm  # backlog of the last run
    assert 'href="/errors?mapping=crm-person">2</a>' in crm
    assert "<td>crm</td>" in crm
    # Every 30 s from 11:00: overdue at 12:30.
    assert "due now" in crm and "every 30s" in crm
    # Every hour from 12:10.
    webinar_row = row_of(html, "webinar-person")
    assert f'href="/runs/{webinar.id}"' in webinar_row
    assert "2026-03-01 13:10:00 UTC" in webinar_row and "every 3600s" in webinar_row
    # A cron line fires at its next time after now, whatever the last run.
    assert "2026-03-01 13:00:00 UTC" in row_of(html, "hourly-person")
    assert "manual" in row_of(html, "paused-person")
    never = row_of(html, "never-person")
    assert "never run" in never and "due now" in never
    gone = row_of(html, "gone-person")
    assert "no runs kept" in gone and "no mapping file" in gone
    assert 'href="/errors?mapping=gone-person">1</a>' in gone
    assert "<strong>3</strong>" in html  # open + retrying across mappings


def test_throughput_charts_count_records_per_bucket(
    client: FlaskClient, files: None, add_run: AddRun
) -> None:
    add_run("crm-person", minutes=0, created_hub=60, updated_remote=40)  # 09:00
    add_run("crm-person", minutes=30, updated_hub=20, deleted=500)  # 09:30, deletes not counted
    add_run("crm-person", minutes=120, created_remote=60)  # 11:00
    add_run("webinar-person", minutes=190, created_hub=5)  # 12:10, the hour still running
    # 12:59 the day before: just outside the last 24 hours (13:00 → 13:00), inside the 7 days.
    add_run("crm-person", minutes=minutes_from_base(datetime(2026, 2, 28, 12, 59, tzinfo=UTC)),
            created_hub=7)
    add_run("webinar-person", minutes=minutes_from_base(datetime(2026, 2, 27, 9, tzinfo=UTC)),
            updated_hub=600)
    add_run("crm-person", minutes=minutes_from_base(datetime(2026, 2, 20, 9, tzinfo=UTC)),
            created_hub=999)  # older than both windows

    html = get(client, "/")
    day = svg(html, "throughput-24h")
    assert day.count('class="chart-bar"') == 24
    assert "<title>2026-03-01 09:00–10:00 UTC: 120 records/hour</title>" in day
    assert "<title>2026-03-01 11:00–12:00 UTC: 60 records/hour</title>" in day
    assert "<title>2026-03-01 12:00–13:00 UTC: 5 records/hour, so far</title>" in day
    assert "<title>2026-02-28 13:00–14:00 UTC: 0 records/hour</title>" in day  # the first bar
    assert "2026-02-28 12:00" not in day
    assert "185 records in all" in day

    week = svg(html, "throughput-7d")
    assert week.count('class="chart-bar"') == 28
    assert ("<title>2026-03-01 06:00–12:00 UTC: 30 records/hour average "
            "(180 records in 6 hours)</title>") in week
    assert ("<title>2026-02-28 12:00–18:00 UTC: 1.17 records/hour average "
            "(7 records in 6 hours)</title>") in week
    assert ("<title>2026-02-27 06:00–12:00 UTC: 100 records/hour average "
            "(600 records in 6 hours)</title>") in week
    assert "792 records in all" in week  # 120 + 60 + 5 + 7 + 600; Feb 20 is outside
    assert "999" not in week
    # The same numbers as a table, for screen readers and copying.
    assert "<td>30 records/hour average (180 records in 6 hours)</td>" in html


def test_api_budget_from_connection_status_and_our_calls(
    client: FlaskClient, files: None, engine: Engine, add_run: AddRun
) -> None:
    add_run("crm-person", minutes=0, api_calls=7)
    add_run("hourly-person", minutes=60, api_calls=3)
    add_run("crm-person", minutes=-3000, api_calls=100)  # two days ago: outside the 24 hours
    add_run("never-person", minutes=100, api_calls=40)
    add_run("gone-person", minutes=100, api_calls=5)  # no mapping file any more
    with session(engine) as db:
        db.add(ConnectionStatus(connection="sf", api_used=9_000, api_limit=15_000,
                                usage_at=BASE, checked_at=BASE, check_ok=True))
        db.add(ConnectionStatus(connection="crm", checked_at=BASE, check_ok=False,
                                check_message="Invalid API key"))

    html = get(client, "/")
    budgets = html[html.index("<h2>API budget</h2>"):]
    sf = re.search(r'<tr>\s*<td><a href="/connections#connection-sf">sf</a>.*?</tr>', budgets, re.S)
    assert sf
    row = sf.group(0)
    assert "<strong>60%</strong>" in row and "9,000 / 15,000" in row
    assert ('aria-label="60% of the API allowance used (9,000 of 15,000 calls); '
            'cycles pause at 50%"') in row
    assert "meter-over" in row  # above its 50% budget
    assert '<td class="num">40</td>' in row
    crm = re.search(r'<tr>\s*<td><a href="/connections#connection-crm">crm</a>.*?</tr>', budgets,
                    re.S)
    assert crm
    assert '<td class="num">10</td>' in crm.group(0)  # 7 + 3 within 24 h, across its mappings
    assert "not reported" in crm.group(0) and "badge-failed" in crm.group(0)
    assert "5 API calls in the last 24 h came from" in budgets
    for secret in ("sf-secret-1a2b3c4d", "sf-password-5e6f7a"):
        assert secret not in html


def test_overview_without_any_mapping_files_keeps_the_empty_state(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    use_files(app, tmp_path, None)
    html = get(client, "/")
    assert "No sync has run yet" in html and "<table" not in html


def test_a_crashed_run_and_a_stopped_mapping_show_on_the_overview(
    client: FlaskClient, files: None, add_run: AddRun, app: Flask
) -> None:
    message = ("did not finish: process 4242 on this host is not running. Taken over at "
               "2026-12-07 12:01:00 UTC by host 'h' pid 7")
    add_run("crm-person", status="crashed", message=message, finished_at=NOW)
    folder = Path(app.config["MAPPINGS_DIR"])
    (folder / "webinar-person.yaml").write_text("name: webinar-person\nconnection: [\n")

    html = get(client, "/")

    crashed = row_of(html, "crm-person")
    assert 'class="badge badge-crashed">crashed<' in crashed
    assert "process 4242 on this host is not running" in crashed  # the reason, on hover
    stopped = row_of(html, "webinar-person")
    assert "stopped: its file does not load" in stopped
    assert "code=MAPPING_INVALID" in stopped
    runs = get(client, "/runs?status=crashed")
    assert "badge-crashed" in runs and 'value="crashed" selected' in runs
