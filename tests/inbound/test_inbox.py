"""The inbox stores each request once, durably, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.models import InboundEvent
from inbound.inbox import event_id_for, purge, store

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BODY = b'{"email":"ann@acme.com"}'


def stored(engine: Engine) -> list[InboundEvent]:
    with Session(engine) as session:
        return list(session.exec(select(InboundEvent).order_by(InboundEvent.id)))


def test_a_request_is_stored_once_and_its_retry_is_a_duplicate(engine: Engine) -> None:
    with Session(engine) as session:
        first = store(session, "website-forms", "msg_1", BODY, "application/json", NOW)
        session.commit()
    with Session(engine) as session:
        again = store(session, "website-forms", "msg_1", BODY, "application/json", NOW)
        other_source = store(session, "zoom", "msg_1", BODY, None, NOW)
        session.commit()

    assert (first.duplicate, again.duplicate, again.id) == (False, True, first.id)
    assert other_source.duplicate is False and other_source.id != first.id
    [row, _] = stored(engine)
    assert (row.source, row.event_id, row.body, row.status) == (
        "website-forms", "msg_1", BODY, "received")


def test_copies_arriving_at_once_store_one_row(engine: Engine) -> None:
    def deliver(_: int) -> bool:
        with Session(engine) as session:
            result = store(session, "website-forms", "msg_race", BODY, None, NOW)
            session.commit()
            return result.duplicate

    with ThreadPoolExecutor(max_workers=4) as pool:
        duplicates = list(pool.map(deliver, range(8)))

    assert duplicates.count(False) == 1
    assert len(stored(engine)) == 1


def test_without_a_sender_id_the_body_is_the_identity() -> None:
    assert event_id_for("  msg_7 ", BODY) == "msg_7"
    assert event_id_for(None, BODY) == event_id_for("", BODY) != event_id_for(None, BODY + b" ")
    assert event_id_for(None, BODY).startswith("sha256:")


def test_purge_keeps_a_week_of_processed_events_and_every_failed_one(engine: Engine) -> None:
    with Session(engine) as session:
        for n, (age, status) in enumerate([(8, "processed"), (6, "processed"), (30, "failed"),
                                           (30, "received")]):
            stored_event = store(session, "website-forms", f"msg_{n}", BODY, None,
                                 NOW - timedelta(days=age))
            row = session.get(InboundEvent, stored_event.id)
            assert row is not None
            row.status = status
            session.add(row)
        session.commit()
        assert purge(session, NOW) == 1
        session.commit()
    assert [r.event_id for r in stored(engine)] == ["msg_1", "msg_2", "msg_3"]


@pytest.mark.postgres
def test_a_sources_rows_commit_in_id_order(postgres_engine: Engine) -> None:
    """A request stored while an earlier one is uncommitted waits for it: a cursor at the
    later id can never pass the earlier one by."""
    first = Session(postgres_engine)
    earlier = store(first, "website-forms", "msg_a", BODY, None, NOW)
    done = threading.Event()
    later: list[int] = []

    def second() -> None:
        with Session(postgres_engine) as session:
            later.append(store(session, "website-forms", "msg_b", BODY, None, NOW).id)
            session.commit()
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        assert not done.wait(0.5), "the second store went ahead of an uncommitted first"
    finally:
        first.commit()
        first.close()
        thread.join(timeout=10)
    assert later and later[0] > earlier.id
