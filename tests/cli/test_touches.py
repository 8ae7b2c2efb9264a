"""``syncline import touches``, ``syncline export touches|members|campaigns|opportunities``,
and programs.yaml in ``syncline mappings check``."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from core.models import Campaign, CampaignMember, Opportunity
from tests.cli.conftest import Invoke
from tests.cli.helpers import (
    SHIPPED_MAPPINGS,
    count,
    database_dump,
    error_lines,
    json_lines,
    rows,
    write,
)

PEOPLE = "email,first_name\nann@x.com,Ann\nbob@y.com,Bob\n"


@pytest.fixture
def hub_with_people(syncline: Invoke, ready: Engine, project: Path) -> dict[str, str]:
    """Ann and Bob, two campaigns (one named twice), the shipped programs.yaml; name → id."""
    shutil.copy(SHIPPED_MAPPINGS / "programs.yaml", project / "mappings" / "programs.yaml")
    assert syncline("import", "people", str(write(project / "p.csv", PEOPLE))).exit_code == 0
    ids: dict[str, str] = {}
    with Session(ready) as db:
        for name, kind in (("Webinar: Launch", "Webinar"), ("Twin", None), ("Twin", None)):
            campaign = Campaign(name=name, type=kind)
            db.add(campaign)
            db.flush()
            ids[name] = campaign.id
        db.commit()
    return ids


def touches(engine: Engine) -> list[dict]:
    return rows(engine, "touch", order="occurred_at")


def test_import_csv_then_jsonl_is_idempotent_and_normalised(
    syncline: Invoke, ready: Engine, project: Path, hub_with_people: dict[str, str]
) -> None:
    webinar = hub_with_people["Webinar: Launch"]
    write(project / "t.csv",
          "email,occurred_at,touch_type,campaign,source,medium,utm_campaign,detail\n"
          'ANN@x.com ,2026-03-01T09:15:42Z,webinar_registration,Webinar: Launch, FB ,PPC,'
          'spring,"{""form"": ""reg""}"\n'
          "bob@y.com,2026-03-02 10:00:00,web_visit,,Google,Organic,,\n")
    result = syncline("import", "touches", "t.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == "rows=2 created=2 updated=0 unchanged=0\n"
    ann, bob = touches(ready)
    assert (ann["campaign_id"], ann["channel"], ann["touch_type"], ann["origin"]) == (
        webinar, "Webinar", "webinar_registration", "import")
    assert (ann["source"], ann["medium"], ann["utm_campaign"]) == ("facebook", "cpc", "spring")
    detail = ann["detail"]
    assert (json.loads(detail) if isinstance(detail, str) else detail) == {"form": "reg"}
    assert (bob["source"], bob["medium"], bob["campaign_id"]) == ("google", "organic", None)

    before = database_dump(ready)
    again = syncline("import", "touches", "t.csv")
    assert again.stdout == "rows=2 created=0 updated=0 unchanged=2\n"
    assert database_dump(ready) == before, "a re-import writes nothing, not even a change_seq"

    # The same touches as JSON Lines (campaign by hub id), one with a new medium.
    write(project / "t.jsonl",
          json.dumps({"email": "ann@x.com", "occurred_at": "2026-03-01T10:15:42+01:00",
                      "touch_type": "webinar_registration", "campaign": webinar,
                      "source": "facebook", "medium": "cpc", "utm_campaign": "spring",
                      "detail": {"form": "reg"}}) + "\n"
          + json.dumps({"email": "bob@y.com", "occurred_at": "2026-03-02T10:00:00Z",
                        "touch_type": "web_visit", "source": "google", "medium": "email"})
          + "\n")
    result = syncline("import", "touches", "t.jsonl")
    assert result.stdout == "rows=2 created=0 updated=1 unchanged=1\n", result.output
    assert [t["medium"] for t in touches(ready)] == ["cpc", "email"]
    assert count(ready, "touch") == 2


def test_bad_rows_are_listed_with_file_line_and_column_and_nothing_is_written(
    syncline: Invoke, ready: Engine, project: Path, hub_with_people: dict[str, str]
) -> None:
    write(project / "bad.csv",
          "email,occurred_at,touch_type,campaign,detail\n"
          "ann@x.com,2026-03-01T09:00:00Z,form_fill,,\n"
          "nobody@x.com,2026-03-01T09:00:00Z,form_fill,,\n"
          "ann@x.com,yesterday,form_fill,,\n"
          "ann@x.com,2026-03-01T09:00:00Z,carrier_pigeon,,\n"
          "bob@y.com,2026-03-01T09:00:00Z,event,No Such Campaign,\n"
          "bob@y.com,2026-03-01T09:00:00Z,event,Twin,\n"
          'bob@y.com,2026-03-01T09:00:00Z,event,,"[1, 2]"\n'
          "ann@x.com,2026-03-01T09:00:00.5Z,form_fill,,\n"
          "nobody@x.com,soon,form_fil,No Such Campaign,\n")
    before = database_dump(ready)
    result = syncline("import", "touches", "bad.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = error_lines(result)
    assert lines[:4] == [
        "error: bad.csv:3 email: no person in the hub with email nobody@x.com",
        "error: bad.csv:4 occurred_at: 'yesterday' is not a date and time (ISO 8601, e.g. "
        "2026-03-01T09:15:00Z)",
        "error: bad.csv:5 touch_type: 'carrier_pigeon' is not a touch type (allowed: form_fill, "
        "webinar_registration, webinar_attended, event, ad_click, email_click, web_visit, "
        "content_download, sales_touch, other)",
        "error: bad.csv:6 campaign: no campaign in the hub with id or name 'No Such Campaign'",
    ]
    twins = [c["id"] for c in rows(ready, "campaign") if c["name"] == "Twin"]
    assert lines[4].startswith(
        "error: bad.csv:7 campaign: 2 campaigns are named 'Twin': give the hub id instead (")
    assert all(twin in lines[4] for twin in twins) and len(twins) == 2
    assert lines[5:7] == [
        'error: bad.csv:8 detail: expected a JSON object ({"key": "value"})',
        "error: bad.csv:9 occurred_at: the same touch as line 2 (same person, time to the "
        "second, touch type and campaign)",
    ]
    # One row, every problem it has.
    assert sorted(line.split()[2].rstrip(":") for line in lines[7:]) == [
        "campaign", "email", "occurred_at", "touch_type"]
    assert database_dump(ready) == before


def test_unknown_and_missing_columns(
    syncline: Invoke, ready: Engine, project: Path, hub_with_people: dict[str, str]
) -> None:
    write(project / "cols.csv", "email,when,touch_type\nann@x.com,2026-03-01,form_fill\n")
    result = syncline("import", "touches", "cols.csv")
    assert result.exit_code == 2
    assert error_lines(result)[:2] == [
        "error: cols.csv:1: unknown column 'when' (columns: email, occurred_at, touch_type, "
        "campaign, channel, source, medium, utm_campaign, utm_content, utm_term, landing_page, "
        "detail)",
        "error: cols.csv:1: missing column 'occurred_at': every touch needs one",
    ]
    assert count(ready, "touch") == 0


def test_exports_carry_hub_ids_emails_and_campaign_names(
    syncline: Invoke, ready: Engine, project: Path, hub_with_people: dict[str, str]
) -> None:
    webinar = hub_with_people["Webinar: Launch"]
    write(project / "t.jsonl", json.dumps(
        {"email": "ann@x.com", "occurred_at": "2026-03-01T09:15:42Z",
         "touch_type": "webinar_attended", "campaign": "Webinar: Launch"}) + "\n")
    assert syncline("import", "touches", "t.jsonl").exit_code == 0
    ann = next(p for p in rows(ready, "person") if p["email"] == "ann@x.com")
    with Session(ready) as db:
        db.add(CampaignMember(person_id=ann["id"], campaign_id=webinar, status="attended",
                              responded=True,
                              first_responded_at=datetime(2026, 3, 1, 9, 15, 42, tzinfo=UTC)))
        db.add(Opportunity(name="Big deal", amount=1200.5, stage="Closed Won",
                           close_date=date(2026, 4, 1), is_closed=True, is_won=True))
        db.commit()

    [touch] = json_lines(syncline("export", "touches", "--json").stdout)
    assert touch["id"] == rows(ready, "touch")[0]["id"]
    assert (touch["person_id"], touch["email"], touch["campaign_id"], touch["campaign"]) == (
        ann["id"], "ann@x.com", webinar, "Webinar: Launch")
    assert (touch["touch_type"], touch["channel"], touch["detail"]) == (
        "webinar_attended", "Webinar", {})
    assert touch["occurred_at"].startswith("2026-03-01T09:15:42")

    [member] = json_lines(syncline("export", "members", "--json").stdout)
    assert (member["email"], member["campaign"], member["status"], member["responded"]) == (
        "ann@x.com", "Webinar: Launch", "attended", True)
    campaigns = json_lines(syncline("export", "campaigns", "--json").stdout)
    assert sorted(c["name"] for c in campaigns) == ["Twin", "Twin", "Webinar: Launch"]
    assert {c["id"] for c in campaigns} == {c["id"] for c in rows(ready, "campaign")}
    [deal] = json_lines(syncline("export", "opportunities", "--json").stdout)
    assert (deal["name"], deal["amount"], deal["close_date"], deal["is_won"]) == (
        "Big deal", 1200.5, "2026-04-01", True)

    as_csv = list(csv.DictReader(syncline("export", "members").stdout.splitlines()))
    assert [(r["email"], r["campaign"], r["responded"]) for r in as_csv] == [
        ("ann@x.com", "Webinar: Launch", "true")]


def test_an_exported_file_imports_back_as_it_is(
    syncline: Invoke, ready: Engine, project: Path, hub_with_people: dict[str, str]
) -> None:
    write(project / "t.csv", "email,occurred_at,touch_type,campaign,source\n"
          "ann@x.com,2026-03-01T09:15:42Z,webinar_attended,Webinar: Launch,FB\n")
    assert syncline("import", "touches", "t.csv").exit_code == 0
    exported = syncline("export", "touches", "-o", "exported.csv")
    assert exported.exit_code == 0, exported.output

    again = syncline("import", "touches", "exported.csv")

    assert again.exit_code == 0, again.output
    assert "unchanged=1" in again.stdout
    assert count(ready, "touch") == 1


def test_sync_turns_campaign_responses_into_touches(
    syncline: Invoke, ready: Engine, project: Path, hub_with_people: dict[str, str]
) -> None:
    """`syncline sync` runs the members → touches step after its pulls."""
    ann = next(p for p in rows(ready, "person") if p["email"] == "ann@x.com")
    with Session(ready) as db:
        db.add(CampaignMember(person_id=ann["id"], campaign_id=hub_with_people["Webinar: Launch"],
                              status="attended"))
        db.commit()
    result = syncline("sync")
    assert result.exit_code == 0, result.output
    [touch] = touches(ready)
    assert (touch["person_id"], touch["touch_type"], touch["origin"]) == (
        ann["id"], "webinar_attended", "member_status")


def test_mappings_check_reports_a_bad_programs_file(syncline: Invoke, project: Path) -> None:
    write(project / "mappings" / "programs.yaml",
          "channels:\n  Webinar:\n    touch_type: webinar_watched\n    statuses: []\n")
    result = syncline("mappings", "check", "--offline")
    assert result.exit_code == 2
    assert error_lines(result)[:2] == [
        "error: mappings/programs.yaml:3 channels.Webinar.touch_type: 'webinar_watched' is not "
        "a touch type (allowed: form_fill, webinar_registration, webinar_attended, event, "
        "ad_click, email_click, web_visit, content_download, sales_touch, other)",
        "error: mappings/programs.yaml:4 channels.Webinar.statuses: needs at least one status",
    ]
    shutil.copy(SHIPPED_MAPPINGS / "programs.yaml", project / "mappings" / "programs.yaml")
    fixed = syncline("mappings", "check", "--offline")
    assert fixed.exit_code == 0, fixed.output
    assert "ok       mappings/programs.yaml (8 channels)" in fixed.stdout
