"""``syncline attribution run|report``: counts, the report's numbers, bad input, an empty hub."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.attribution.hub import WEIGHTED, story, when
from tests.cli.conftest import Invoke
from tests.cli.helpers import error_lines, json_lines, write
from tests.clock import frozen_clock


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch).now = when("2026-05-01 00:00")


@pytest.fixture
def attributed(syncline: Invoke, ready: Engine, project: Path) -> Engine:
    """The hand-built story (won W, open O, touchless N), computed by `attribution run`."""
    write(project / "mappings" / "attribution.yaml", WEIGHTED)
    story(ready)
    result = syncline("attribution", "run", "--json")
    assert result.exit_code == 0, result.output
    [counts] = json_lines(result.stdout)
    assert counts["mode"] == "full"
    assert (counts["opportunities"], counts["unattributed"]) == (3, 1)
    # first_touch 2 rows, w_shaped 5, full_path 7 (one of them O's pending share).
    assert counts["credit_rows"] == 14
    return ready


def test_report_by_campaign_matches_the_hand_computed_table(
    syncline: Invoke, attributed: Engine
) -> None:
    result = syncline("attribution", "report", "--model", "full_path", "--by", "campaign",
                      "--json")
    assert result.exit_code == 0, result.output
    rows = [tuple(row.values()) for row in json_lines(result.stdout)]
    # W (won, 1000): 25 % to each of t1 ads, t2 webinar, t3 news, t4 (no campaign).
    # O (open, 600): t1 ads 27.5 %, t2 webinar 50 %, CW 22.5 % pending. N (500): no touch.
    assert rows == [
        ("(no campaign)", "full_path", 1, 1, 0.25, 250.0, 250.0),
        ("Ads", "full_path", 1, 2, 0.525, 415.0, 250.0),
        ("News", "full_path", 1, 1, 0.25, 250.0, 250.0),
        ("Webinar", "full_path", 1, 2, 0.75, 550.0, 250.0),
        ("(pending)", "full_path", 0, 1, 0.225, 135.0, 0.0),
        ("(no touches)", "full_path", 0, 1, 1.0, 500.0, 0.0),
    ]
    assert list(json_lines(result.stdout)[0]) == [
        "group", "model", "touches", "opportunities", "credit", "pipeline", "revenue"]


def test_a_date_range_keeps_deals_created_or_won_in_it(
    syncline: Invoke, attributed: Engine
) -> None:
    # W was created on 1 March but won on 10 April: revenue, no pipeline. O (created 1 March,
    # open) is out of range; N (created 5 March, no touch) is in.
    result = syncline("attribution", "report", "--model", "full_path", "--by", "channel",
                      "--from", "2026-03-02", "--to", "2026-04-30", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["group"]: row for row in json_lines(result.stdout)}
    assert {g: (r["opportunities"], r["pipeline"], r["revenue"]) for g, r in rows.items()} == {
        "(no channel)": (1, 0.0, 250.0),  # t4 has neither a channel nor a campaign
        "Email": (1, 0.0, 250.0),
        "Paid": (1, 0.0, 250.0),
        "Webinar": (1, 0.0, 250.0),
        "(no touches)": (1, 500.0, 0.0),
    }


def test_csv_and_table_show_the_same_groups(syncline: Invoke, attributed: Engine) -> None:
    result = syncline("attribution", "report", "--model", "w_shaped", "--by", "touch_type",
                      "--csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "group,model,touches,opportunities,credit,pipeline,revenue"
    # W: t1, t2, t3 a third each; O: t1 35 %, t2 65 %.
    assert lines[1:] == [
        "email_click,w_shaped,1,1,0.333333,333.33,333.33",
        "form_fill,w_shaped,1,2,0.983333,723.33,333.33",
        "web_visit,w_shaped,1,2,0.683333,543.34,333.34",
        "(no touches),w_shaped,0,1,1.000000,500.00,0.00",
    ]
    table = syncline("attribution", "report", "--model", "w_shaped", "--by", "touch_type")
    assert [line.split()[0] for line in table.stdout.splitlines()] == [
        "group", "email_click", "form_fill", "web_visit", "(no"]


def test_an_unchanged_hub_recomputes_nothing(syncline: Invoke, attributed: Engine) -> None:
    result = syncline("attribution", "run", "--json")
    [counts] = json_lines(result.stdout)
    assert (counts["mode"], counts["opportunities"], counts["credit_rows"]) == (
        "incremental", 0, 0)


def test_an_unknown_model_is_refused_naming_the_models(
    syncline: Invoke, attributed: Engine
) -> None:
    result = syncline("attribution", "report", "--model", "v_shaped", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = error_lines(result)
    assert "'v_shaped'" in line and "first_touch, w_shaped, full_path" in line


def test_an_empty_hub_reports_nothing(syncline: Invoke, ready: Engine) -> None:
    run = syncline("attribution", "run", "--json")
    assert run.exit_code == 0, run.output
    assert json_lines(run.stdout)[0]["opportunities"] == 0
    result = syncline("attribution", "report", "--model", "w_shaped", "--by", "campaign",
                      "--json")
    assert (result.exit_code, result.stdout) == (0, "")


def test_a_broken_attribution_file_is_bad_input(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    write(project / "mappings" / "attribution.yaml", "people: contacts\nmodels: [w_shaped]\n")
    result = syncline("attribution", "run")
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert line.startswith("error: ") and "attribution.yaml:1 people:" in line
