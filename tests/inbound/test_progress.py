"""Processed, failed or waiting: read from the readers' cursors and open errors, then purged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.models import InboundEvent
from inbound.inbox import purge
from inbound.progress import progress, readers, settle_all
from jobs import retention
from jobs.engine import run_mapping
from tests.inbound.forms import FORMS_MAPPING, SOURCE, context, submit

NAME = str(FORMS_MAPPING["name"])


def statuses(engine: Engine) -> dict[int, str]:
    with Session(engine) as session:
        return {e.id: e.status for e in session.exec(select(InboundEvent)) if e.id is not None}


def test_states_follow_the_cursor_and_the_open_errors(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine, tmp_path)
    good = submit(engine, {"email": "ann@acme.com", "first_name": "Ann"})
    bad = submit(engine, {"email": "bo@acme.com", "first_name": "B" * 81})
    assert readers(ctx.mappings, SOURCE) == [NAME]
    with Session(engine) as session:
        before = progress(session, [NAME])
    assert (before.state(good), before.state(bad)) == ("waiting", "waiting")

    run_mapping(ctx, NAME)
    later = submit(engine, {"email": "cy@acme.com"})

    with Session(engine) as session:
        found = progress(session, [NAME])
        assert [found.state(i) for i in (good, bad, later)] == ["processed", "failed", "waiting"]
        assert progress(session, []).state(good) == "waiting"  # nobody reads it
        settle_all(session, ctx.mappings, utcnow())
        session.commit()
    assert statuses(engine) == {good: "processed", bad: "failed", later: "received"}


def test_the_retention_job_purges_what_was_processed_a_week_ago(
    engine: Engine, tmp_path: Path
) -> None:
    ctx = context(engine, tmp_path)
    old = submit(engine, {"email": "ann@acme.com", "first_name": "Ann"})
    failed = submit(engine, {"email": "bo@acme.com", "first_name": "B" * 81})
    run_mapping(ctx, NAME)
    retention.purge(engine, mappings=ctx.mappings)  # settles: processed now, so kept
    assert statuses(engine) == {old: "processed", failed: "failed"}

    with Session(engine) as session:
        row = session.get(InboundEvent, old)
        assert row is not None
        row.processed_at = utcnow() - timedelta(days=8)
        session.add(row)
        session.commit()
    assert retention.purge(engine, mappings=ctx.mappings).inbound == 1
    assert statuses(engine) == {failed: "failed"}
    with Session(engine) as session:
        assert purge(session, utcnow() + timedelta(days=30)) == 0  # a failed one stays
