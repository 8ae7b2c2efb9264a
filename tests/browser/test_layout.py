"""At 1366 px, with long codes and messages, the pages fit the window and tables their cards.

A 1366x768 laptop is the smallest screen an admin works the errors from; a page wider than
that scrolls sideways and hides the status and actions columns. Screenshots of each page are
saved to ``SYNCLINE_SCREENSHOTS`` (default: the test's tmp folder) to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from sqlalchemy import Engine

from app import create_app
from attribution.engine import run, settings_in
from core.accounts import add_user
from core.db import session
from core.models import (
    Campaign,
    CampaignMember,
    FieldHistory,
    LifecycleHistory,
    Opportunity,
    OpportunityContactRole,
    Person,
    SyncError,
    SyncRun,
    Touch,
)
from jobs import causes
from tests.browser.conftest import LiveServer

PASSWORD = "browser-layout-password"
WIDTH, HEIGHT = 1366, 768
REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: Salesforce's and Dataverse's longest everyday codes, and messages as they come.
CAUSES = [
    ("salesforce-campaign-member", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Status",
     "Status: bad value for restricted picklist field: Registered - Attended On Demand "
     "(Replay watched after the live session ended)",
     "add a value_map entry for 'Registered - Attended On Demand' on Status; allowed: Sent, "
     "Responded, Registered, Attended, No Show, Opened, Clicked, Unsubscribed"),
    ("salesforce-lead", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone",
     "A lead being worked needs a phone number so sales can call it. Add the phone number "
     "or move the lead back to Open - Not Contacted before saving.", None),
    ("dynamics-campaign-response", "0x80040237_DUPLICATE_RECORD_ENTITY_KEY_CAMPAIGNRESPONSE",
     "syncline_hubid", "A record with matching key values already exists: "
     "syncline_hubid=7f3c2a9e4b1d48c6a0e5f9d2c1b7a3e8 on campaignresponse_syncline_hubid_key",
     None),
    ("salesforce-opportunity", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
     "Very_Long_Custom_Attribution_Field_Name__c",
     "insufficient access rights on cross-reference id: 0065g00000AbCdEfGhIjKlMnOpQrStUvWxYz",
     None),
]
LONG_EMAIL = "maximiliana.konstantina.josephine-annabella@subsidiary.example-enterprises.co.uk"


def _seed(engine: Engine) -> int:
    """Runs of every shipped mapping and open errors of each long cause; returns a run id."""
    run_ids = []
    with session(engine) as db:
        for n, path in enumerate(sorted(REPO_MAPPINGS.glob("*-*.yaml"))):
            run = SyncRun(mapping=path.stem, started_at=NOW - timedelta(minutes=n),
                          finished_at=NOW - timedelta(minutes=n) + timedelta(seconds=42),
                          status="partial", trigger="scheduler", read=123_456,
                          created_hub=12_345, updated_hub=23_456, created_remote=34_567,
                          updated_remote=45_678, deleted=1_234, skipped=5_678, failed=4,
                          api_calls=1_234, duration_ms=3_723_000, backlog=98_765)
            db.add(run)
            db.flush()
            run_ids.append(run.id)
        for n, (mapping, code, field, message, hint) in enumerate(CAUSES * 5):
            seen = NOW - timedelta(minutes=n)
            db.add(SyncError(
                fingerprint=f"layout-{n}", mapping=mapping, direction="to_remote",
                hub_object="person", hub_id=f"{n:032x}", remote_object="CampaignMember",
                remote_id=f"00v5g00000{n:08d}AbCdEfGhIjKlMnOp", email=f"{n}.{LONG_EMAIL}",
                kind="validation", code=code, field=field, message=message, hint=hint,
                payload={"Status": "Registered - Attended On Demand", "Description": "x" * 300},
                first_seen=seen, last_seen=seen, run_id=run_ids[0],
            ))
        # Campaign-member errors read as "email (name) in Campaign": the longest record cell.
        for n in range(3):
            person = Person(email=f"{n}.{LONG_EMAIL}", first_name="Maximiliana-Konstantina",
                            last_name="von Hohenzollern-Sigmaringen")
            campaign = Campaign(name="Partner Roadshow 2026: Customer Data Platforms for "
                                     "Enterprise Marketing Operations (EMEA, on demand)")
            db.add_all([person, campaign])
            db.flush()
            member = CampaignMember(person_id=person.id, campaign_id=campaign.id)
            db.add(member)
            db.flush()
            seen = NOW - timedelta(minutes=100 + n)
            db.add(SyncError(
                fingerprint=f"layout-member-{n}", mapping="dynamics-list-member",
                direction="to_remote", hub_object="campaign_member", hub_id=member.id,
                kind="validation", code="REFERENCE_EXCLUDED", field="entityid",
                message=f"entityid: person {person.id} is kept out of dynamics-lead by its "
                "sync_rule `email and not unsubscribed and (score >= 40 or lifecycle_stage in "
                "['MQL', 'SQL'])`", first_seen=seen, last_seen=seen, run_id=run_ids[0],
            ))
        causes.recount(db, {c[0] for c in CAUSES} | {"dynamics-list-member"})
    return run_ids[0]


@pytest.fixture
def server(sqlite_engine: Engine, tmp_path: Path) -> Iterator[tuple[LiveServer, int]]:
    folder = tmp_path / "mappings"
    shutil.copytree(REPO_MAPPINGS, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    connections = tmp_path / "connections.yaml"
    memory = {"type": "memory", "path": str(tmp_path / "store.json")}
    connections.write_text(yaml.safe_dump(
        {"salesforce": memory, "dynamics": memory, "webinar": memory}), encoding="utf-8")
    add_user(sqlite_engine, "admin@example.com", PASSWORD, "admin")
    run_id = _seed(sqlite_engine)
    app = create_app({"SECRET_KEY": "browser-layout", "DATABASE_URL": str(sqlite_engine.url),
                      "MAPPINGS_DIR": str(folder), "CONNECTIONS": str(connections)})
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = sqlite_engine
    with LiveServer(app) as live:
        yield live, run_id


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SYNCLINE_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fits(page: Any, shots: Path, name: str) -> None:
    """No sideways scroll, and a screenshot to look at."""
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    scroll, inner = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{name}: {scroll} px wide in a {inner} px window"


def _wraps_codes_at_underscores(page: Any, name: str) -> None:
    """Each code cell breaks only after an underscore, never inside a word."""
    lines = page.evaluate("""() => [...document.querySelectorAll('td.code')].map(cell => {
        const tops = new Map();
        // The text of each rendered line: where a line ends tells where the code was broken.
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        let text = '';
        while (walker.nextNode()) {
            const node = walker.currentNode;
            for (let i = 0; i < node.length; i++) {
                const r = document.createRange();
                r.setStart(node, i); r.setEnd(node, i + 1);
                const top = Math.round(r.getBoundingClientRect().top);
                tops.set(top, (tops.get(top) || '') + node.data[i]);
            }
        }
        return [...tops.values()];
    })""")
    broken = [cell for cell in lines if len(cell) > 1]
    assert broken, f"{name}: no long code needed wrapping (the test data is too short)"
    for cell in broken:
        for line in cell[:-1]:
            assert line.endswith("_"), f"{name}: a code broke mid-word: {cell}"


def test_errors_runs_and_preview_fit_a_1366_window(
    browser: Any, server: tuple[LiveServer, int], tmp_path: Path
) -> None:
    live, run_id = server
    shots = _shots(tmp_path)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(live.url + "/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/")

    for name, url in [("errors", "/errors"), ("errors-groups", "/errors/groups"),
                      ("runs", "/runs"), ("run", f"/runs/{run_id}")]:
        page.goto(live.url + url)
        _fits(page, shots, name)
        if name != "runs":
            _wraps_codes_at_underscores(page, name)
    page.goto(live.url + "/errors")
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in page.inner_text("table"), (
        "the code reads whole (copy and search still find it)")

    sample = {
        "direction": "push", "hub-email": LONG_EMAIL, "hub-first_name": "Maximiliana",
        "hub-last_name": "Konstantina-Josephine-Annabella-Theodora von Hohenzollern-Sigmaringen",
        "hub-company": "Zweckverband-für-Wasserversorgung-und-Abwasserbeseitigung-Nordost-"
                       "GmbH-&-Co.-KG-International-Holdings",
        "hub-lead_source": "Registered-Attended-On-Demand-Replay-Partner-Referral",
        "hub-score": "55",
    }
    page.goto(f"{live.url}/mappings/salesforce-lead?{urlencode(sample)}#preview-push")
    page.wait_for_selector("#push-rows")
    _fits(page, shots, "mapping-preview")
    card = page.locator("#preview-push").bounding_box()
    table = page.locator("#push-rows").bounding_box()
    assert card is not None and table is not None
    assert table["x"] >= card["x"]
    assert table["x"] + table["width"] <= card["x"] + card["width"], (
        f"the preview table ({table}) overflows its card ({card})")
    page.close()


#: A real browser's user agent: the longest text the users page shows.
USER_AGENT = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
              "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0 ExtraLongVendorSuffix/1.2.3")


def _log_in(page: Any, url: str, email: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_users_and_account_pages_fit_a_1366_window(
    browser: Any, server: tuple[LiveServer, int], sqlite_engine: Engine, tmp_path: Path
) -> None:
    live, _ = server
    shots = _shots(tmp_path)
    for n in range(3):
        add_user(sqlite_engine, f"{n}.{LONG_EMAIL}", PASSWORD, "viewer")
    contexts = []
    for n in range(3):  # the same account in three browsers, and one session of each viewer
        for email in ("admin@example.com", f"{n}.{LONG_EMAIL}"):
            context = browser.new_context(user_agent=f"{USER_AGENT} #{n}")
            contexts.append(context)
            _log_in(context.new_page(), live.url, email)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    _log_in(page, live.url, "admin@example.com")
    for name, url in [("users", "/users"), ("account", "/account")]:
        page.goto(live.url + url)
        _fits(page, shots, name)
    page.goto(live.url + "/users")
    rows = page.locator("table.users tbody tr")
    assert rows.count() == 4
    assert page.locator("table.users button", has_text="Sign out everywhere").count() == 4
    page.close()
    for context in contexts:
        context.close()


def test_a_persons_history_tab_fits_a_1366_window(
    browser: Any, server: tuple[LiveServer, int], sqlite_engine: Engine, tmp_path: Path
) -> None:
    live, run_id = server
    with session(sqlite_engine) as db:
        person = Person(email=LONG_EMAIL, first_name="Maximiliana-Konstantina")
        db.add(person)
        db.flush()
        company = ("Zweckverband-für-Wasserversorgung-und-Abwasserbeseitigung-Nordost-"
                   "GmbH-&-Co.-KG-International-Holdings")
        for n, (direction, source) in enumerate(
            [("to_hub", "dynamics"), ("kept", "salesforce"), ("to_remote", "hub")] * 4
        ):
            db.add(FieldHistory(
                at=NOW - timedelta(minutes=n), hub_table="person", hub_id=person.id,
                field="very_long_custom_attribution_field_name",
                remote_field="Very_Long_Custom_Attribution_Field_Name__c",
                old=f"{company} {n}", new=f"{company} {n + 1}", source=source,
                direction=direction, mapping="salesforce-campaign-member", run_id=run_id,
                reason="dynamics-lead's rule prefer_remote_unless_blank: dynamics holds a "
                "value, so it stands; a push takes no value back from dynamics: only a change "
                "read there does; the hub's value came from salesforce-lead in run 12345 "
                "(salesforce-lead's rule prefer_remote_unless_blank: salesforce holds a value)",
            ))
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    _log_in(page, live.url, "admin@example.com")
    page.goto(f"{live.url}/records/person/{person.id}/history")
    assert page.locator("table.field-history tbody tr").count() == 12
    _fits(page, _shots(tmp_path), "record-history")
    reason = page.locator("table.field-history td.message").first.bounding_box()
    assert reason is not None and reason["width"] >= 250, f"the reason is squeezed: {reason}"
    page.close()


def _seed_attribution(engine: Engine, folder: Path) -> tuple[str, str, str]:
    """Long-named campaigns and people, touches and three deals, attributed under every model
    of the shipped attribution file; returns (an opportunity, a campaign, a person) id."""
    kinds = ["web_visit", "form_fill", "webinar_registration", "email_click", "event",
             "ad_click", "content_download", "sales_touch"]
    with session(engine) as db:
        campaigns = [Campaign(name=f"Partner Roadshow 2026 no. {n}: Customer Data Platforms for "
                                   "Enterprise Marketing Operations (EMEA, on demand)",
                              channel=f"Field-Marketing-Partner-Co-Sponsored-Channel-{n}")
                     for n in range(6)]
        people = [Person(email=f"{n}.{LONG_EMAIL}", first_name="Maximiliana-Konstantina",
                         last_name="von Hohenzollern-Sigmaringen") for n in range(3)]
        db.add_all([*campaigns, *people])
        db.flush()
        for n in range(16):
            db.add(Touch(person_id=people[n % 3].id, campaign_id=campaigns[n % 6].id,
                         occurred_at=NOW - timedelta(days=60 - 3 * n), touch_type=kinds[n % 8],
                         source="linkedin-sponsored-content-partner-network",
                         medium="paid-social-retargeting-audience", origin="import"))
        deals = [Opportunity(name=f"Zweckverband-für-Wasserversorgung-und-Abwasserbeseitigung "
                                  f"Nordost GmbH & Co. KG: Enterprise renewal {n}",
                             amount=1_234_567.89 * (n + 1), stage="Negotiation/Review",
                             created_on=NOW - timedelta(days=20 - n),
                             close_date=(NOW + timedelta(days=10)).date() if n else None,
                             is_closed=bool(n), is_won=n == 1) for n in range(3)]
        db.add_all(deals)
        db.flush()
        for deal in deals:
            for n, who in enumerate(people):
                db.add(OpportunityContactRole(opportunity_id=deal.id, person_id=who.id,
                                              role="Economic Decision Maker", is_primary=n == 0))
        ids = deals[1].id, campaigns[0].id, people[0].id
    run(engine, settings_in(folder))
    return ids


def test_the_attribution_and_opportunity_pages_fit_a_1366_window(
    browser: Any, server: tuple[LiveServer, int], sqlite_engine: Engine, tmp_path: Path
) -> None:
    live, _ = server
    opportunity_id, campaign_id, person_id = _seed_attribution(sqlite_engine, tmp_path / "mappings")
    shots = _shots(tmp_path)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    _log_in(page, live.url, "admin@example.com")
    for name, url in [("attribution", "/attribution"),
                      ("attribution-channel", "/attribution?by=channel&metric=revenue"),
                      ("attribution-campaign", f"/attribution/campaigns/{campaign_id}"),
                      ("opportunity", f"/opportunities/{opportunity_id}"),
                      ("person-touches", f"/records/person/{person_id}")]:
        page.goto(live.url + url)
        _fits(page, shots, name)
        for table in page.locator("main table").all():
            box, holder = table.bounding_box(), page.locator("main").bounding_box()
            assert box is not None and holder is not None
            assert box["x"] + box["width"] <= holder["x"] + holder["width"] + 1, (
                f"{name}: a table ({box}) is wider than the page ({holder})")
    page.goto(live.url + "/attribution")
    assert page.locator("svg.chart-grouped rect.chart-series-0").count() >= 6
    assert page.locator("#attribution-table tbody tr").count() >= 6
    page.close()


def _seed_scoring(engine: Engine) -> str:
    """People with scores, long stage histories and AQL, for the Scoring and person pages;
    returns the id of a person with every panel filled."""
    with session(engine) as db:
        people = [Person(email=f"scored-{n}.{LONG_EMAIL}", title="Vice President, Global Demand "
                         "Generation and Marketing Operations", score=n * 7 % 120,
                         lifecycle_stage="MQL", aql=n % 3 == 0,
                         aql_at=NOW - timedelta(days=n % 80) if n % 3 == 0 else None,
                         attributes={"fit_score": n * 3 % 60, "behavior_score": n * 5 % 90,
                                     "score_product_a": n % 40})
                  for n in range(60)]
        db.add_all(people)
        db.flush()
        for n, who in enumerate(people):
            stages = ["Known", "Engaged", "MQL"][: 1 + n % 3]
            before = None
            for step, stage in enumerate(stages):
                db.add(LifecycleHistory(
                    person_id=who.id, from_stage=before, to_stage=stage,
                    at=NOW - timedelta(days=60 - n % 50 - step * 4), rule=f"transitions[{step}]",
                    reason="score >= 60 and fit_score >= 20 and account.employees >= 1000 "
                    "and lifecycle_stage in ['Known', 'Engaged', 'Recycled', 'Nurture'] holds"))
                before = stage
        for n, kind in enumerate(["form_fill", "webinar_attended", "web_visit", "email_click"]):
            db.add(Touch(person_id=people[2].id, occurred_at=NOW - timedelta(days=5 + n),
                         touch_type=kind, landing_page="/pricing", origin="import"))
        return people[2].id


def test_the_scoring_page_and_a_persons_score_panels_fit_a_1366_window(
    browser: Any, server: tuple[LiveServer, int], sqlite_engine: Engine, tmp_path: Path
) -> None:
    live, _ = server
    person_id = _seed_scoring(sqlite_engine)
    shots = _shots(tmp_path)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    _log_in(page, live.url, "admin@example.com")
    for name, url in [("scoring", f"/scoring?from={(NOW - timedelta(days=90)).date()}"
                                  f"&to={NOW.date()}"),
                      ("person-scores", f"/records/person/{person_id}")]:
        page.goto(live.url + url)
        _fits(page, shots, name)
        for table in page.locator("main table:visible").all():
            box, holder = table.bounding_box(), page.locator("main").bounding_box()
            assert box is not None and holder is not None
            assert box["x"] + box["width"] <= holder["x"] + holder["width"] + 1, (
                f"{name}: a table ({box}) is wider than the page ({holder})")
    page.goto(live.url + f"/scoring?from={(NOW - timedelta(days=90)).date()}&to={NOW.date()}")
    assert page.locator("svg.chart rect.chart-bar").count() >= 20
    assert page.locator("#funnel-table tbody tr").count() == 8
    page.goto(live.url + f"/records/person/{person_id}")
    assert page.locator("#stage-history tbody tr").count() == 3
    assert page.locator("#aql-parts li").count() == 4
    page.close()
