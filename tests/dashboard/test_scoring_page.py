"""The Scoring page (rules files, score histograms, funnel, AQL per week) and a person's panels.

Numbers are worked out by hand from the people, accounts and stage history seeded here, as a
user reads them on the page (bar tooltips, table cells).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import create_app
from core.db import session
from core.hubschema import HubSchema
from core.models import Account, LifecycleHistory, Person
from lifecycle.loader import load_lifecycle
from lifecycle.run import run_lifecycle
from scoring.loader import load_scoring
from scoring.run import run_scoring
from tests.clock import frozen_clock
from tests.dashboard.attribution_hub import table
from tests.dashboard.conftest import unwrapped
from touches.record import TouchInput, record_touch

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch).now = NOW


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("hub.yaml", "scoring.yaml", "lifecycle.yaml"):
        shutil.copy(SHIPPED / name, mappings / name)
    return mappings


@pytest.fixture
def app(engine: Engine, folder: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "MAPPINGS_DIR": str(folder)})
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = engine
    yield app


def _page(client: FlaskClient, url: str = "/scoring") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return unwrapped(response.get_data(as_text=True))


def _bars(html: str, figure: str) -> dict[str, str]:
    """Bar tooltips of one histogram: ``{"10–14": "2 people"}``."""
    part = html.split(f'id="{figure}"', 1)[1].split("</figure>", 1)[0]
    found = re.findall(r'<g class="chart-slot"><title>\S+ ([^:]+): ([^<]+)</title>', part)
    return dict(found)


def _funnel(html: str) -> dict[str, list[str]]:
    """Stage → entered, went on, conversion, median days (the meter's text left out)."""
    return {r[0]: [r[1], *r[3:]] for r in table(html, "funnel-table")[1:]}


def _person(n: int, **fields: object) -> Person:
    return Person(email=f"p{n}@example.com", **fields)  # type: ignore[arg-type]


def test_histograms_count_the_seeded_people_and_accounts(
    client: FlaskClient, engine: Engine
) -> None:
    with session(engine) as db:
        for n, fit in enumerate([0, 5, 10, 10, 25, 45]):
            db.add(_person(n, attributes={"fit_score": fit}, score=fit * 2))
        # Not counted: a deleted person, one without a score, a hand-edited text value.
        db.add(_person(10, attributes={"fit_score": 45}, deleted_at=NOW))
        db.add(_person(11))
        db.add(_person(12, attributes={"fit_score": "lots"}))
        db.add(Account(name="Big", attributes={"account_score": 70}))
        db.add(Account(name="Small", attributes={"account_score": 10}))
    html = _page(client)
    # 0 to 45 in bins of 5 (at most 20 bars): 0–4, 5–9, 10–14 ... 45–49.
    fit = _bars(html, "histogram-person-fit_score")
    assert fit["0–4"] == "1 people" and fit["5–9"] == "1 people"
    assert fit["10–14"] == "2 people" and fit["25–29"] == "1 people"
    assert fit["45–49"] == "1 people" and fit["40–44"] == "0 people"
    assert list(fit)[0] == "0–4" and list(fit)[-1] == "45–49"
    assert sum(int(v.split()[0]) for v in fit.values()) == 6
    assert 'data-scored="6"' in html.split('id="histogram-person-fit_score"')[1][:80]
    # score (a standard column) 0 to 90: bins of 5 as well.
    score = _bars(html, "histogram-person-score")
    assert score["20–24"] == "2 people" and score["90–94"] == "1 people"
    accounts = _bars(html, "histogram-account-account_score")
    assert accounts["10–14"] == "1 accounts" and accounts["70–74"] == "1 accounts"
    assert "Nobody has a behavior_score yet." in html


def _move(db: Session, person: Person, to: str, days_ago: float, before: str | None) -> None:
    db.add(LifecycleHistory(person_id=person.id, from_stage=before, to_stage=to,
                            at=NOW - timedelta(days=days_ago), rule="transitions[0]", reason="x"))


def test_funnel_counts_entries_in_the_range_conversion_and_median_days(
    client: FlaskClient, engine: Engine
) -> None:
    with session(engine) as db:
        people = [_person(n) for n in range(6)]
        db.add_all(people)
        db.flush()
        p1, p2, p3, p4, p5, p6 = people
        # p1 skips Engaged and SAL; p2 goes step by step; p4 became Known before the range.
        for person, moves in ((p1, [("Known", 50), ("MQL", 40), ("SQL", 30)]),
                              (p2, [("Known", 50), ("Engaged", 45), ("MQL", 35)]),
                              (p3, [("Known", 20)]),
                              (p4, [("Known", 200), ("Engaged", 10)]),
                              (p5, [("Known", 60), ("Engaged", 52)]),
                              # Recycled and qualified again: two entries into MQL.
                              (p6, [("Known", 80), ("MQL", 70), ("Recycled", 60),
                                    ("MQL", 40)])):
            before = None
            for stage, days in moves:
                _move(db, person, stage, days, before)
                before = stage
    rows = _funnel(_page(client))
    # Known: p1, p2, p3, p5, p6 in the last 90 days; all but p3 went on (p1 and p6 straight
    # to MQL). Median days to Engaged: p2 5, p5 8 → 6.5.
    assert rows["Known"] == ["5", "4", "80.0 %", "6.5 to Engaged"]
    # Engaged: p2, p4, p5; only p2 went on, 10 days later, to MQL.
    assert rows["Engaged"] == ["3", "1", "33.3 %", "10.0 to MQL"]
    # MQL: p1 (on to SQL, skipping SAL, so no days to SAL), p2, and p6 twice (recycled next,
    # which is not further on, then nothing yet).
    assert rows["MQL"] == ["4", "1", "25.0 %", "—"]
    assert rows["SAL"] == ["0", "0", "—", "—"]
    assert rows["SQL"][0] == "1" and rows["Customer"] == ["0", "—", "—", "—"]
    # A range of the last 25 days: p3 became Known, p4 Engaged; nobody went on since.
    start = (NOW - timedelta(days=25)).date().isoformat()
    rows = _funnel(_page(client, f"/scoring?from={start}"))
    assert rows["Known"][:3] == ["1", "0", "0.0 %"] and rows["Engaged"][0] == "1"
    assert rows["MQL"][0] == "0"


def test_aql_per_week_counts_people_by_the_week_they_qualified(
    client: FlaskClient, engine: Engine
) -> None:
    with session(engine) as db:
        for n, days in enumerate([0, 1, 8, 8, 9, 400]):
            db.add(_person(n, aql=True, aql_at=NOW - timedelta(days=days)))
        db.add(_person(20, aql=False, aql_at=None))
    html = _page(client)
    weeks = dict(re.findall(r"<title>week of (\S+): (\d+) qualified</title>", html))
    # NOW is Monday 15 June: day 0 is its week; days 1, 8 and 9 the two weeks before.
    assert weeks["2026-06-15"] == "1" and weeks["2026-06-08"] == "1"
    assert weeks["2026-06-01"] == "3" and weeks["2026-05-25"] == "0"
    assert "5 people qualified from" in html


def test_rules_are_listed_from_the_files(client: FlaskClient) -> None:
    html = _page(client)
    assert 'id="scoring-ok"' in html and 'id="lifecycle-ok"' in html
    demographic = table(html, "demographic-rules")
    assert demographic[1][:3] == ["Decision maker", "fit_score", "20"]
    behavioral = {r[0]: r for r in table(html, "behavioral-rules")[1:]}
    assert behavioral["Filled in a form"][2:] == ["@form_fill", "type: form_fill", "—",
                                                 "30 a day, 90 in all"]
    tokens = {r[0]: r[1:] for r in table(html, "score-tokens")[1:]}
    assert tokens["@webinar_attended"] == [
        "30", "40 for channel Webinar; 50 for campaign Product A Launch Webinar"]
    fields = {r[0]: r[1:] for r in table(html, "score-fields")[1:]}
    assert fields["behavior_score"] == ["rules", "half-life 90 days"]
    assert fields["score"] == ["fit_score + behavior_score", "—"]
    transitions = {r[0]: r[1:] for r in table(html, "transitions")[1:]}
    assert transitions["transitions[2]"] == [
        "Engaged, Known", "MQL", "when aql or (score >= 60 and fit_score >= 20)", "no"]
    assert "Anonymous → Known → Engaged → MQL" in html


def test_a_broken_scoring_file_shows_its_file_and_line_and_the_page_still_works(
    client: FlaskClient, engine: Engine, folder: Path
) -> None:
    text = (folder / "scoring.yaml").read_text(encoding="utf-8")
    broken = text.replace("  form_fill: 15\n", "  form_fill: 15\n  bogus_token: lots\n")
    (folder / "scoring.yaml").write_text(broken, encoding="utf-8")
    (folder / "lifecycle.yaml").write_text("stages: [A, A]\n", encoding="utf-8")
    line = broken.splitlines().index("  bogus_token: lots") + 1
    with session(engine) as db:
        db.add(_person(1, score=12))
    html = _page(client)
    problems = html.split('id="scoring-problems"', 1)[1].split("</section>", 1)[0]
    assert f"scoring.yaml:{line} tokens.bogus_token" in problems
    lifecycle = html.split('id="lifecycle-problems"', 1)[1].split("</section>", 1)[0]
    assert "lifecycle.yaml:1" in lifecycle
    # The file's text with line numbers, and the score column still charted.
    assert f'<td class="num muted">{line}</td><td><code>  bogus_token: lots</code>' in html
    assert _bars(html, "histogram-person-score")["12"] == "1 people"
    assert 'id="funnel-unavailable"' in html
    # A person's page says why it has no breakdown, and lists the same problems.
    with session(engine) as db:
        person = db.exec(select(Person)).first()
        assert person is not None
    page = _page(client, f"/records/person/{person.id}")
    assert "No scoring file loads" in page
    problems = page.split('id="scoring-problems"', 1)[1].split("</ul>", 1)[0]
    assert f"scoring.yaml:{line} tokens.bogus_token" in problems


def test_scoring_is_in_the_navigation(client: FlaskClient) -> None:
    html = _page(client, "/")
    assert '<a href="/scoring"' in html


def test_a_persons_page_shows_score_breakdown_stage_history_and_aql_parts(
    client: FlaskClient, engine: Engine, folder: Path
) -> None:
    schema = HubSchema.load(folder / "hub.yaml")
    with session(engine) as db:
        bea = Person(email="bea@bigco.example", first_name="Bea", last_name="Stone",
                     title="Director of Sales", country="US",
                     attributes={"industry_segment": "Enterprise"})
        db.add(bea)
        db.flush()
        for days, kind in ((90, "form_fill"), (3, "webinar_attended"), (2, "form_fill")):
            record_touch(db, TouchInput(person_id=bea.id, occurred_at=NOW - timedelta(days=days),
                                        touch_type=kind, origin="import"))
    run_scoring(engine, load_scoring(folder / "scoring.yaml", hub_schema=schema), schema, now=NOW)
    lifecycle = load_lifecycle(folder / "lifecycle.yaml")
    assert lifecycle is not None
    run_lifecycle(engine, lifecycle, schema, now=NOW)

    html = _page(client, f"/records/person/{bea.id}")
    fit = html.split('id="score-fit_score"', 1)[1].split("</section>", 1)[0]
    assert "= 45" in fit and "(stored)" in fit
    lines = re.findall(r"<td>([^<]+) <span class=\"muted\">demographic", fit)
    assert lines == ["Decision maker", "Target country", "Enterprise account"]
    behavior = html.split('id="score-behavior_score"', 1)[1].split("</section>", 1)[0]
    # The 90-day-old form fill is worth half its 15 points (a 90-day half-life).
    assert "<td class=\"num\">+15</td>\n                    <td class=\"num\">7.5</td>" in behavior
    assert "decay -7.5" in behavior
    combined = html.split('id="score-score"', 1)[1].split("</section>", 1)[0]
    assert "Combined from the scores above: <code>fit_score + behavior_score</code>" in combined
    history = table(html, "stage-history")
    assert history[0] == ["When", "From", "To", "Rule", "Why"]
    assert [row[1:4] for row in history[1:]] == [["Engaged", "MQL", "transitions[2]"],
                                                 ["Known", "Engaged", "transitions[1]"],
                                                 ["—", "Known", "transitions[0]"]]
    assert history[1][4] == "aql or (score >= 60 and fit_score >= 20) holds"
    assert "<span class=\"subtitle\">MQL</span>" in html
    marks = {name: kind for kind, name in re.findall(
        r'<li class="(pass|fail)" data-part="(\w+)"', html)}
    assert marks == {"titles": "pass", "complete": "fail",
                               "behavior_score": "pass", "account_score": "fail"}
    assert "✗</span> <span class=\"visually-hidden\">fails:</span> <strong>complete</strong>: " \
           "blank: company" in html
    assert "not qualified" in html


def test_a_person_page_says_when_the_stored_score_is_behind(
    client: FlaskClient, engine: Engine
) -> None:
    with session(engine) as db:
        ann = Person(email="ann@example.com", title="VP Marketing", score=3,
                     attributes={"fit_score": 3})
        db.add(ann)
    html = _page(client, f"/records/person/{ann.id}")
    fit = html.split('id="score-fit_score"', 1)[1].split("</section>", 1)[0]
    assert "= 20" in fit and "stored 3" in fit
    assert "No stage change recorded for this person." in html
    assert "<span class=\"subtitle\">none yet</span>" in html


def test_the_page_counts_again_once_people_or_stages_change(
    client: FlaskClient, engine: Engine
) -> None:
    with session(engine) as db:
        ann = _person(1, attributes={"fit_score": 10})
        db.add(ann)
    assert _bars(_page(client), "histogram-person-fit_score") == {"10": "1 people"}
    with session(engine) as db:
        db.add(_person(2, attributes={"fit_score": 12}))
    assert _bars(_page(client), "histogram-person-fit_score") == {
        "10": "1 people", "11": "0 people", "12": "1 people"}
    with session(engine) as db:  # a score written in place, as a scoring run does
        found = db.get(Person, ann.id)
        assert found is not None
        found.attributes = {"fit_score": 11}
        db.add(found)
    assert _bars(_page(client), "histogram-person-fit_score") == {
        "11": "1 people", "12": "1 people"}
    assert _funnel(_page(client))["Known"][0] == "0"
    with session(engine) as db:
        _move(db, ann, "Known", 1, None)
    assert _funnel(_page(client))["Known"][0] == "1"


def test_without_the_files_the_page_says_so_and_still_charts_score(
    client: FlaskClient, engine: Engine, folder: Path
) -> None:
    (folder / "scoring.yaml").unlink()
    (folder / "lifecycle.yaml").unlink()
    with session(engine) as db:
        db.add(_person(1, score=7))
    html = _page(client, "/scoring?from=soon&to=2026-06-01")
    assert 'id="scoring-missing"' in html and 'id="lifecycle-missing"' in html
    assert _bars(html, "histogram-person-score") == {"7": "1 people"}
    assert "which is missing" in html and "funnel-table" not in html
    assert "from: &#39;soon&#39; is not a date (YYYY-MM-DD); the range ignores it" in html
    # The range ends on the day asked and starts 90 days before it.
    assert 'id="aql-none">Nobody qualified from 2026-03-03 to 2026-06-01' in html
