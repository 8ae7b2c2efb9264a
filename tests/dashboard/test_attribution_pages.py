"""The Attribution page, its CSV, a campaign's drill-down, the opportunity and person pages.

Numbers are worked out by hand from the hub ``attribution_hub.build`` writes (W won for 1,000
with four touches, O open for 600 with two, N without a touch), as a user reads them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import click
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from app import create_app
from cli import main
from core.models import User
from dashboard.attribution.views import RUN_HINT
from tests.attribution.hub import add, opportunity, role
from tests.clock import frozen_clock
from tests.dashboard.attribution_hub import MARKUP_NAME, NOW, SETTINGS, build, compute, table
from tests.dashboard.conftest import unwrapped
from tests.dashboard.forms import log_in

FT_FP = "model=first_touch&model=full_path"


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch).now = NOW


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "attribution.yaml").write_text(SETTINGS, encoding="utf-8")
    return mappings


@pytest.fixture
def app(engine: Engine, folder: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "MAPPINGS_DIR": str(folder)})
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = engine
    yield app


@pytest.fixture
def hub(engine: Engine, folder: Path) -> Engine:
    build(engine)
    compute(engine, folder)
    return engine


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return unwrapped(response.get_data(as_text=True))


def test_models_side_by_side_per_campaign_match_the_hand_computed_credit(
    client: FlaskClient, hub: Engine
) -> None:
    html = _page(client, f"/attribution?by=campaign&{FT_FP}")
    rows = table(html, "attribution-table")
    assert rows[0] == ["Campaign", "first_touch", "full_path"]
    assert rows[1] == ["Credit", "Pipeline", "Revenue"] * 2
    # First touch: t1 (Ads) takes W and O whole. Full path: W 25 % to each of its four
    # touches; O 27.5 % t1, 50 % t2, 22.5 % pending (open); N has no touch.
    assert rows[2:] == [  # by name, as the report orders groups
        ["(no campaign)", "—", "—", "—", "0.250", "250.00", "250.00"],
        [MARKUP_NAME, "—", "—", "—", "0.750", "550.00", "250.00"],
        ["Ads", "2.000", "1,600.00", "1,000.00", "0.525", "415.00", "250.00"],
        ["News", "—", "—", "—", "0.250", "250.00", "250.00"],
        ["(pending)", "—", "—", "—", "0.225", "135.00", "0.00"],
        ["(no touches)", "1.000", "500.00", "0.00", "1.000", "500.00", "0.00"],
        ["Total", "3.000", "2,100.00", "1,000.00", "3.000", "2,100.00", "1,000.00"],
    ]
    assert "Attribution" in re.findall(r'aria-current="page">([^<]+)<', html)
    assert '<svg class="chart chart-grouped"' in html


def test_the_date_range_counts_pipeline_by_creation_and_revenue_by_winning(
    client: FlaskClient, hub: Engine
) -> None:
    # W and O were created on 1 March, before the range; W was won on 10 April, in it;
    # N was created on 5 March, in it.
    html = _page(client, "/attribution?by=channel&model=first_touch&from=2026-03-02&to=2026-04-10")
    assert table(html, "attribution-table")[2:] == [
        ["Paid", "1.000", "0.00", "1,000.00"],
        ["(no touches)", "1.000", "500.00", "0.00"],
        ["Total", "2.000", "500.00", "1,000.00"],
    ]
    later = _page(client, "/attribution?model=first_touch&from=2026-06-01")
    assert "No credit in this range" in later and 'id="attribution-table"' not in later


def test_a_bad_date_is_named_and_left_out_of_the_range(client: FlaskClient, hub: Engine) -> None:
    html = _page(client, "/attribution?model=first_touch&from=2026-13-01")
    assert "from: &#39;2026-13-01&#39; is not a date (YYYY-MM-DD)" in html
    assert table(html, "attribution-table")[-1] == ["Total", "3.000", "2,100.00", "1,000.00"]


def test_the_csv_holds_the_rows_shown_in_the_reports_columns(
    client: FlaskClient, hub: Engine
) -> None:
    page = _page(client, f"/attribution?by=channel&{FT_FP}&from=2026-01-01")
    link = re.search(r'id="csv-link" href="([^"]+)"', page)
    assert link is not None
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attribution-by-channel-2026-01-01.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["group", "model", "touches", "opportunities", "credit", "pipeline", "revenue"],
        ["(no channel)", "full_path", "1", "1", "0.250000", "250.00", "250.00"],
        ["Email", "full_path", "1", "1", "0.250000", "250.00", "250.00"],
        ["Paid", "first_touch", "1", "2", "2.000000", "1600.00", "1000.00"],
        ["Paid", "full_path", "1", "2", "0.525000", "415.00", "250.00"],
        ["Webinar", "full_path", "1", "2", "0.750000", "550.00", "250.00"],
        ["(pending)", "full_path", "0", "1", "0.225000", "135.00", "0.00"],
        ["(no touches)", "first_touch", "0", "1", "1.000000", "500.00", "0.00"],
        ["(no touches)", "full_path", "0", "1", "1.000000", "500.00", "0.00"],
    ]


def test_a_formula_in_a_campaign_name_is_neutralised_in_the_csv(
    client: FlaskClient, hub: Engine
) -> None:
    from core.db import session
    from core.models import Campaign

    with session(hub) as db:
        found = db.get(Campaign, "news")
        assert found is not None
        found.name = '=HYPERLINK("http://evil.example","x")'
    rows = list(csv.reader(io.StringIO(
        client.get("/attribution.csv?model=full_path").get_data(as_text=True))))
    assert ["'=HYPERLINK(\"http://evil.example\",\"x\")", "full_path", "1", "1", "0.250000",
            "250.00", "250.00"] in rows


def test_drill_down_from_a_campaign_to_its_opportunities_to_one_of_them(
    client: FlaskClient, hub: Engine
) -> None:
    html = _page(client, f"/attribution?by=campaign&{FT_FP}")
    ads = re.search(r'<a href="([^"]+)">Ads</a>', html)
    assert ads is not None
    campaign = _page(client, ads.group(1).replace("&amp;", "&"))
    assert "<h1>Ads" in campaign
    rows = table(campaign, "campaign-deals")
    assert rows[2:] == [
        # Newest first (both created 1 March, so by id, descending): W then O.
        ["W", "1,000.00", "— won", "2026-03-01 10:00:00 UTC", "2026-04-10", "100 %", "1,000.00",
         "25 %", "250.00"],
        ["O", "600.00", "—", "2026-03-01 10:00:00 UTC", "—", "100 %", "600.00", "27.5 %",
         "165.00"],
        ["Total (2 opportunities; credit in opportunities)", "2.000", "1,600.00", "0.525",
         "415.00"],
    ]
    won = re.search(r'<a href="(/opportunities/W)">W</a>', campaign)
    assert won is not None
    opportunity_page = _page(client, won.group(1))
    journey = table(opportunity_page, "journey-table")
    assert journey[0] == ["#", "When", "Type", "Channel", "Campaign", "Source / medium",
                          "Positions"]
    assert journey[1] == ["1", "2026-01-10 09:00:00 UTC", "web_visit", "Paid", "Ads",
                          "google / cpc", "FT"]
    assert [row[6] for row in journey[1:]] == ["FT", "LC", "OC", "CW"]
    credit = table(opportunity_page, "credit-table")
    assert credit[0] == ["Touch", "first_touch", "w_shaped", "full_path"]
    # First touch: all to t1. W-shaped: FT, LC and OC 30 % each and no middle before the
    # creation, so its 10 % is split among them: a third each, cents by largest remainder.
    # Full path: 22.5 % per position, no middle: 25 % each.
    assert [row[1] for row in credit[1:5]] == ["100 % 1,000.00", "0 %", "0 %", "0 %"]
    assert [row[2].split(" %")[0] for row in credit[1:5]] == ["33.33", "33.33", "33.33", "0"]
    assert sum(Decimal(row[2].split()[-1].replace(",", "")) for row in credit[1:4]) == 1000
    assert [row[3] for row in credit[1:5]] == ["25 % 250.00"] * 4
    assert credit[-1] == ["Total", "100 %", "100 %", "100 %"]


def test_the_opportunity_page_shows_its_fields_people_and_pending_share(
    client: FlaskClient, hub: Engine
) -> None:
    html = _page(client, "/opportunities/O")
    facts = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split('id="opportunity-facts"')[1]
                                           .split("</dl>")[0]))
    assert "Amount 600.00" in facts and "Created 2026-03-01 10:00:00 UTC" in facts
    assert "Outcome open" in facts
    assert [row[1:] for row in table(html, "journey-table")[1:]] == [
        ["2026-01-10 09:00:00 UTC", "web_visit", "Paid", "Ads", "google / cpc", "FT"],
        ["2026-02-01 09:00:00 UTC", "form_fill", "Webinar", MARKUP_NAME, "— / —", "LC, OC"],
    ]
    # W-shaped: FT 30 % to t1, LC and OC 30 % each to t2; no middle, so its 10 % goes
    # half to each positioned touch. Full path: the same, with CW's 22.5 % pending.
    assert table(html, "credit-table")[1:] == [
        ["#1 FT", "100 % 600.00", "35 % 210.00", "27.5 % 165.00"],
        ["#2 LC, OC", "0 %", "65 % 390.00", "50 % 300.00"],
        ["(pending) CW, until won", "—", "—", "22.5 % 135.00"],
        ["Total", "100 %", "100 %", "100 %"],
    ]
    assert '<a href="/records/person/ann">ann@example.com</a>' in html
    assert 'id="stale"' not in html


def test_a_deals_own_contact_is_listed_as_its_primary_person(
    client: FlaskClient, hub: Engine
) -> None:
    # A Dynamics deal names its contact on the deal (bob) beside its contact role (ann).
    deal = opportunity("D", "2026-03-01 10:00")
    deal.primary_contact_id = "bob"
    add(hub, deal, role("D", "ann"))

    rows = table(_page(client, "/opportunities/D"), "people-table")

    assert [[cell.split()[0] for cell in row[:1]] + row[1:] for row in rows[1:]] == [
        ["bob@example.com", "Contact on the deal", "yes"],
        ["ann@example.com", "—", "no"],
    ]


def test_the_opportunity_page_tells_when_its_credit_is_out_of_date(
    client: FlaskClient, hub: Engine
) -> None:
    add(hub, opportunity("Z", "2026-04-01 10:00"))
    html = _page(client, "/opportunities/Z")
    assert "No attribution yet" in html and f"<code>{RUN_HINT}</code>" in html
    from tests.attribution.hub import role, touch

    add(hub, touch("t9", "bob", "2026-02-25 09:00", "webinar_attended", "news"),
        role("O", "bob"))
    assert 'id="stale"' in _page(client, "/opportunities/O")


def test_an_unknown_opportunity_is_a_404(client: FlaskClient, hub: Engine) -> None:
    assert client.get("/opportunities/nope").status_code == 404
    assert client.get("/opportunities/" + "x" * 40).status_code == 404
    assert client.get("/attribution/campaigns/nope").status_code == 404


def test_the_person_page_lists_touches_newest_first_and_opportunities(
    client: FlaskClient, hub: Engine
) -> None:
    html = _page(client, "/records/person/ann")
    assert table(html, "person-touches") == [
        ["When", "Type", "Campaign", "Channel", "Source / medium", "Origin"],
        ["2026-02-01 09:00:00 UTC", "form_fill", MARKUP_NAME, "Webinar", "— / —", "—"],
        ["2026-01-10 09:00:00 UTC", "web_visit", "Ads", "Paid", "google / cpc", "import"],
    ]
    assert [row[0] for row in table(html, "person-opportunities")[1:]] == ["O", "W"]
    assert 'href="/opportunities/W"' in html
    assert "No touch recorded for this person" in _page(client, "/records/person/cy")
    assert 'href="/attribution/campaigns/ads"' in _page(client, "/records/campaign/ads")


def test_names_are_escaped_in_the_table_the_chart_and_the_pages(
    client: FlaskClient, hub: Engine
) -> None:
    for url in ("/attribution?model=full_path", "/opportunities/W", "/records/person/ann",
                "/attribution/campaigns/webinar?model=full_path"):
        html = _page(client, url)
        assert "<b>Webinar</b>" not in html, url
        assert "&lt;b&gt;Webinar&lt;/b&gt;" in html, url


def test_a_viewer_sees_the_attribution_pages(
    app: Flask, viewer: User, hub: Engine
) -> None:
    browser = log_in(app.test_client(), viewer)
    for url in ("/attribution", "/attribution.csv", "/attribution/campaigns/ads",
                "/opportunities/W"):
        assert browser.get(url).status_code == 200, url


def test_empty_states_say_what_to_do(client: FlaskClient, engine: Engine) -> None:
    html = _page(client, "/attribution")
    assert "No opportunities in the hub yet" in html
    add(engine, opportunity("W", "2026-03-01 10:00"))
    html = _page(client, "/attribution")
    assert "No attribution yet" in html and f"Run <code>{RUN_HINT}</code>" in html


def test_opportunities_that_arrived_after_the_last_run_are_waiting_for_the_next(
    client: FlaskClient, engine: Engine, folder: Path
) -> None:
    compute(engine, folder)  # on an empty hub
    add(engine, opportunity("W", "2026-03-01 10:00"))
    html = _page(client, "/attribution")
    assert "No attribution stored" in html and "Run it again if opportunities arrived" in html
    compute(engine, folder)  # W has no people, so no touch: reported, never dropped
    html = _page(client, "/attribution")
    assert table(html, "attribution-table")[2] == [
        "(no touches)", "1.000", "1,000.00", "0.00", "1.000", "1,000.00", "0.00",
        "1.000", "1,000.00", "0.00"]


def test_the_hint_names_a_command_that_exists() -> None:
    program, *words = RUN_HINT.split()
    assert program == "syncline"
    command: click.Command | None = main
    with click.Context(main) as context:
        for word in words:
            assert isinstance(command, click.Group)
            command = command.get_command(context, word)
            assert command is not None, f"no `{word}` in `{RUN_HINT}`"
