"""Incremental scoring and lifecycle runs end where a full run ends, after random histories.

Random changes (touches, titles, accounts, head counts) arrive in batches with an incremental
run of scoring then lifecycle after each batch, as the hub steps run them. After the last, a
full run must change nothing, and scoring a copy of the final data from scratch must give the
same scores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from core import db
from core.hubschema import HubSchema
from core.models import Account, Person
from lifecycle.loader import load_lifecycle
from lifecycle.run import run_lifecycle
from scoring.loader import load_scoring
from scoring.run import run_scoring
from tests.fresh_hub import fresh_hub
from touches.record import TouchInput, record_touch

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
SCHEMA = HubSchema.load(SHIPPED / "hub.yaml")
RULES = load_scoring(SHIPPED / "scoring.yaml", hub_schema=SCHEMA)
STAGES = load_lifecycle(SHIPPED / "lifecycle.yaml", hub_schema=SCHEMA)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PEOPLE = ["p0", "p1", "p2", "p3"]
ACCOUNTS = ["a0", "a1"]
TITLES = ["VP Marketing", "Student", "Engineer", "Director of IT", None]
#: (touch type, landing page, channel, product): what the shipped rules tell apart.
TOUCHES = [
    ("webinar_attended", None, "Webinar", None), ("webinar_registration", None, "Webinar", None),
    ("form_fill", "/demo-request", "Web", None), ("web_visit", "/pricing", "Web", None),
    ("web_visit", "/blog", "Web", None), ("email_click", None, "Email", None),
    ("content_download", None, "Web", "A"), ("sales_touch", None, None, None),
]

CHANGE = st.one_of(
    st.tuples(st.just("touch"), st.sampled_from(PEOPLE), st.integers(0, 200),
              st.sampled_from(range(len(TOUCHES)))),
    st.tuples(st.just("title"), st.sampled_from(PEOPLE), st.sampled_from(TITLES)),
    st.tuples(st.just("account"), st.sampled_from(PEOPLE), st.sampled_from([None, *ACCOUNTS])),
    st.tuples(st.just("employees"), st.sampled_from(ACCOUNTS), st.sampled_from([None, 50, 5000])),
)



def _seed(engine: Engine) -> None:
    with db.session(engine) as session:
        session.add_all([Account(id="a0", name="Zero", industry="Software"),
                         Account(id="a1", name="One")])
        session.add_all(Person(id=p, email=f"{p}@example.com", first_name="P", last_name=p,
                               company="Zero", phone="+14155550100", country="US")
                        for p in PEOPLE)


def _apply(engine: Engine, change: tuple[Any, ...], n: int) -> None:
    with db.session(engine) as session:
        kind = change[0]
        if kind == "touch":
            _, who, hours, which = change
            touch_type, page, channel, product = TOUCHES[which]
            # Distinct times (whole seconds) so no two random touches collapse into one key.
            at = NOW - timedelta(hours=hours, seconds=n)
            record_touch(session, TouchInput(
                person_id=who, occurred_at=at, touch_type=touch_type, origin="import",
                landing_page=page, channel=channel,
                detail={"product": product} if product else {}))
        elif kind == "title":
            row = session.get(Person, change[1])
            assert row is not None
            row.title = change[2]
            session.add(row)
        elif kind == "account":
            row = session.get(Person, change[1])
            assert row is not None
            row.account_id = change[2]
            session.add(row)
        else:
            account = session.get(Account, change[1])
            assert account is not None
            account.employees = change[2]
            session.add(account)


def _state(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        people = {p.id: (p.score, SCHEMA.get(p, "fit_score"), SCHEMA.get(p, "behavior_score"),
                         SCHEMA.get(p, "score_product_a"), p.lifecycle_stage, p.aql)
                  for p in session.exec(select(Person))}
        accounts = {a.id: SCHEMA.get(a, "account_score") for a in session.exec(select(Account))}
    return {"people": people, "accounts": accounts}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CHANGE, min_size=1, max_size=6), min_size=1, max_size=5))
def test_incremental_runs_end_where_a_full_run_ends(
    _sqlite_template: Path, batches: list[list[tuple[Any, ...]]]
) -> None:
    assert STAGES is not None
    with fresh_hub(_sqlite_template) as engine:
        _seed(engine)
        n = 0
        for batch in batches:
            for change in batch:
                n += 1
                _apply(engine, change, n)
            run_scoring(engine, RULES, SCHEMA, now=NOW)
            run_lifecycle(engine, STAGES, SCHEMA, now=NOW)
        incremental = _state(engine)

        full = run_scoring(engine, RULES, SCHEMA, full=True, now=NOW)
        assert (full.people_changed, full.accounts_changed) == (0, 0)
        moved = run_lifecycle(engine, STAGES, SCHEMA, full=True, now=NOW)
        assert (moved.moved, moved.aql_changed) == (0, 0)
        assert _state(engine) == incremental

    # The same final data scored from scratch, in one full run: the same scores.
    with fresh_hub(_sqlite_template) as engine:
        _seed(engine)
        n = 0
        for batch in batches:
            for change in batch:
                n += 1
                _apply(engine, change, n)
        run_scoring(engine, RULES, SCHEMA, now=NOW)
        scratch = _state(engine)
    assert {k: v[:4] for k, v in scratch["people"].items()} == {
        k: v[:4] for k, v in incremental["people"].items()}
    assert scratch["accounts"] == incremental["accounts"]
