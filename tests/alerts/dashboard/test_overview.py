"""The overview lists the alerts that hold now, at the top, escaped like every remote text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from alerts.evaluate import evaluate_alerts
from alerts.rules import parse_alerts
from tests.alerts.conftest import at

RULES = parse_alerts(
    "rules:\n  - {name: braked, condition: braked}\n"
    "  - {name: failing, condition: failing_runs, runs: 2}\n",
    "alerts.yaml",
    env={},
)


def page(client: FlaskClient) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_overview_shows_active_alerts_first(
    engine: Engine, client: FlaskClient, add_run: Callable[..., Any]
) -> None:
    assert "Active alerts" not in page(client)
    add_run("crm-lead", "braked", 0, message="would delete 40 of 200 <script>alert(1)</script>")
    add_run("webinar", "failed", 0)
    evaluate_alerts(engine, RULES, at(1))
    html = page(client)
    assert "Active alerts (1)" in html
    section = html[html.index('<section class="active-alerts"'):html.index("</section>")]
    assert html.index("active-alerts") < html.index("<h2>Mappings</h2>")
    cells = [cell.strip() for cell in section.split("<td")[1:]]
    assert cells[0] == ">braked</td>"
    assert cells[1] == ">crm-lead</td>"
    assert cells[2] == 'class="nowrap">2026-03-01 09:01:00 UTC</td>'
    assert "<script>" not in section
    assert ("crm-lead is braked: its latest run, started 2026-03-01 09:00:00 UTC, said: would "
            "delete 40 of 200 &lt;script&gt;alert(1)&lt;/script&gt;") in cells[3]

    add_run("crm-lead", "success", 2)
    evaluate_alerts(engine, RULES, at(3))
    assert "Active alerts" not in page(client)
