"""``attribution.engine.run`` on a hub built by hand: the credit rows each model leaves."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session

from attribution.config import parse_settings
from attribution.engine import run
from core.clock import utcnow
from core.models import AttributionResult, Opportunity
from core.sequence import current_seq
from tests.attribution.hub import WEIGHTED, credits, influence, story, when
from tests.clock import frozen_clock

SETTINGS = parse_settings(WEIGHTED, "attribution.yaml")


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch).now = when("2026-05-01 00:00")


def test_each_model_credits_the_positions_it_weighs(engine: Engine) -> None:
    story(engine)
    report = run(engine, SETTINGS)
    assert (report.full, report.opportunities, report.unattributed) == (True, 3, 1)

    assert credits(engine, "first_touch") == {
        ("W", "t1"): ("1/1", "FT", 1000.0),
        ("O", "t1"): ("1/1", "FT", 600.0),
    }
    # W: t1 FT, t2 LC, t3 OC, t4 after creation is no W-shaped middle: the 10 % middle share
    # goes in equal parts to the three position holders. Ties in cents go to the lower id.
    assert credits(engine, "w_shaped") == {
        ("W", "t1"): ("1/3", "FT", 333.34),
        ("W", "t2"): ("1/3", "LC", 333.33),
        ("W", "t3"): ("1/3", "OC", 333.33),
        # O: t2 is LC and OC; no middle before creation, so t1 and t2 take 5 % more each.
        ("O", "t1"): ("7/20", "FT", 210.0),
        ("O", "t2"): ("13/20", "LC,OC", 390.0),
    }
    # Full path on the won deal: four positions, no middle: 25 % each. On the open deal the
    # CW share is pending and the 10 % middle share goes to its two holders.
    assert credits(engine, "full_path") == {
        ("W", "t1"): ("1/4", "FT", 250.0),
        ("W", "t2"): ("1/4", "LC", 250.0),
        ("W", "t3"): ("1/4", "OC", 250.0),
        ("W", "t4"): ("1/4", "CW", 250.0),
        ("O", "t1"): ("11/40", "FT", 165.0),
        ("O", "t2"): ("1/2", "LC,OC", 300.0),
        ("O", None): ("9/40", "pending", 135.0),
    }
    with Session(engine) as session:
        flags = {(r.opportunity_id, r.model): r.unattributed
                 for r in session.execute(select(AttributionResult)).scalars()}
    assert flags[("N", "w_shaped")] is True
    assert flags[("W", "w_shaped")] is False


def test_campaign_influence_sums_a_persons_campaign_touches(engine: Engine) -> None:
    story(engine)
    run(engine, SETTINGS)
    rows = {k: v[:2] for k, v in influence(engine).items() if k[3] == "full_path"}
    # t4 has no campaign: it earns credit but no CampaignInfluence.
    assert rows == {
        ("W", "ads", "ann", "full_path"): (25.0, 250.0),
        ("W", "webinar", "ann", "full_path"): (25.0, 250.0),
        ("W", "news", "bob", "full_path"): (25.0, 250.0),
        ("O", "ads", "ann", "full_path"): (27.5, 165.0),
        ("O", "webinar", "ann", "full_path"): (50.0, 300.0),
    }


def test_a_noop_recompute_leaves_campaign_influence_untouched(engine: Engine) -> None:
    story(engine)
    run(engine, SETTINGS)
    before = influence(engine)
    seq = _seq(engine)
    again = run(engine, SETTINGS, full=True)
    assert again.opportunities == 3 and again.influence_rows == 0
    assert influence(engine) == before
    assert _seq(engine) == seq
    assert run(engine, SETTINGS).opportunities == 0  # nothing changed since


def test_an_idle_run_writes_nothing(engine: Engine) -> None:
    """The scheduler runs attribution every 30 s: with nothing new it only reads."""
    story(engine)
    run(engine, SETTINGS)
    # Its own campaign_influence rows took change numbers after it read the counter: the next
    # run moves the cursors past them (it cannot tell them from someone else's writes).
    assert run(engine, SETTINGS).opportunities == 0
    statements: list[str] = []

    def seen(conn: object, cursor: object, text: str, *args: object) -> None:
        statements.append(text.split()[0].upper() if text.split()[0].upper() == "SELECT" else text)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        idle = run(engine, SETTINGS)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert idle.opportunities == 0
    assert statements and set(statements) <= {"SELECT"}, [s for s in statements if s != "SELECT"]


def test_credit_that_disappears_soft_deletes_its_influence(engine: Engine) -> None:
    story(engine)
    run(engine, SETTINGS)
    with Session(engine) as session:
        gone = session.get(Opportunity, "O")
        assert gone is not None
        gone.deleted_at = utcnow()
        session.add(gone)
        session.commit()
    report = run(engine, SETTINGS)
    assert report.opportunities == 1
    rows = influence(engine)
    assert all(deleted for key, (_, _, _, deleted) in rows.items() if key[0] == "O")
    assert not any(deleted for key, (_, _, _, deleted) in rows.items() if key[0] == "W")
    assert not any(key[0] == "O" for key in credits(engine, "w_shaped"))


def test_account_contacts_count_everyone_at_the_account(engine: Engine) -> None:
    story(engine)
    with Session(engine) as session:
        deal = session.get(Opportunity, "N")
        assert deal is not None
        deal.account_id = "acme"
        session.add(deal)
        session.commit()
    settings = parse_settings("people: account_contacts\nmodels: [linear]\n", "a.yaml")
    run(engine, settings)
    # N was created on 5 March: Ann's and Bob's touches up to then count (t4 is after, but
    # N is open, so its journey runs to now).
    assert {k[1]: v[0] for k, v in credits(engine, "linear").items() if k[0] == "N"} == {
        "t1": "1/4", "t2": "1/4", "t3": "1/4", "t4": "1/4",
    }


def _seq(engine: Engine) -> int:
    with Session(engine) as session:
        return current_seq(session)


def test_an_edited_attribution_file_recomputes_everything(engine: Engine) -> None:
    story(engine)
    run(engine, parse_settings("models: [first_touch, linear]\n", "attribution.yaml"))
    assert run(engine, parse_settings("models: [first_touch, linear]\n", "a.yaml")).full is False
    linear = {k for k, v in influence(engine).items() if k[3] == "linear" and not v[3]}
    assert linear

    edited = run(engine, parse_settings("models: [first_touch, u_shaped]\n", "a.yaml"))
    assert (edited.full, edited.opportunities) == (True, 3)
    assert credits(engine, "linear") == {}
    assert set(credits(engine, "u_shaped")) == {("W", "t1"), ("W", "t2"), ("O", "t1"),
                                                ("O", "t2")}
    # The dropped model's CampaignInfluence rows are deleted (softly: the push removes them).
    rows = influence(engine)
    assert all(rows[key][3] for key in linear)


@pytest.mark.postgres
def test_two_runs_at_once_write_each_influence_row_once(postgres_engine: Engine) -> None:
    """The scheduler's hub step and `syncline attribution run` may overlap."""
    story(postgres_engine)
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            run(postgres_engine, SETTINGS, full=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = influence(postgres_engine)
    # first_touch: W and O via ads; w_shaped: W's ads, webinar, news and O's ads, webinar;
    # full_path the same five (t4 has no campaign): 12 rows, each once and live.
    assert len(rows) == 12 and not any(deleted for *_, deleted in rows.values())
