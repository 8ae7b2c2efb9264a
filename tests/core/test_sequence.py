from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, text
from sqlmodel import Session, select

from core.clock import utcnow
from core.db import session
from core.models import Account, Campaign, Person, SyncRun
from core.sequence import changes_since, current_seq, touch


@contextmanager
def counting_bumps(engine: Engine) -> Iterator[list[str]]:
    """Collect the UPDATE hub_sequence statements the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE HUB_SEQUENCE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_inserts_get_increasing_seqs_in_the_order_they_were_added(engine: Engine) -> None:
    people = [Person(email=f"p{i}@example.com") for i in range(5)]
    with counting_bumps(engine) as bumps, session(engine) as s:
        s.add_all(people)
        s.add(Account(name="Acme"))
    assert [p.change_seq for p in people] == [1, 2, 3, 4, 5]
    assert len(bumps) == 1  # one statement for the whole flush
    with session(engine) as s:
        assert current_seq(s) == 6


def test_inserts_stamp_created_and_updated_at_in_utc(engine: Engine) -> None:
    before = utcnow()
    with session(engine) as s:
        person = Person(email="a@example.com")
        s.add(person)
    assert person.created_at is not None and person.created_at >= before
    assert person.updated_at == person.created_at
    with session(engine) as s:
        stored = s.get(Person, person.id)
        assert stored is not None and stored.created_at == person.created_at
        assert stored.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_updates_get_a_higher_seq_and_keep_created_at(engine: Engine) -> None:
    with session(engine) as s:
        person = Person(email="a@example.com")
        s.add(person)
    first_seq, created = person.change_seq, person.created_at
    for expected in (first_seq + 1, first_seq + 2):
        with session(engine) as s:
            stored = s.get(Person, person.id)
            assert stored is not None
            stored.title = f"title {expected}"
        with session(engine) as s:
            stored = s.get(Person, person.id)
            assert stored is not None
            assert stored.change_seq == expected
            assert stored.created_at == created
            assert stored.updated_at is not None and stored.updated_at >= created  # type: ignore[operator]


def test_seqs_strictly_increase_across_flushes_of_one_transaction(engine: Engine) -> None:
    seqs: list[int] = []
    with counting_bumps(engine) as bumps, session(engine) as s:
        person = Person(email="a@example.com")
        s.add(person)
        s.flush()
        seqs.append(person.change_seq)
        for score in range(3):
            person.score = score
            s.flush()
            seqs.append(person.change_seq)
    assert seqs == sorted(set(seqs)) and len(seqs) == 4
    assert len(bumps) == 4


def test_an_unchanged_record_gets_no_new_seq(engine: Engine) -> None:
    with session(engine) as s:
        person = Person(email="a@example.com", title="CEO")
        s.add(person)
    with counting_bumps(engine) as bumps, session(engine) as s:
        stored = s.get(Person, person.id)
        assert stored is not None
        stored.title = "CEO"  # the same value: an attribute event, but no real change
        stored.attributes = {}
        s.flush()
    assert bumps == []
    with session(engine) as s:
        assert s.get(Person, person.id).change_seq == person.change_seq  # type: ignore[union-attr]
        assert current_seq(s) == person.change_seq


def test_touch_bumps_the_seq_without_a_data_change(engine: Engine) -> None:
    with session(engine) as s:
        person = Person(email="a@example.com")
        s.add(person)
    with session(engine) as s:
        stored = s.get(Person, person.id)
        assert stored is not None
        touch(s, stored)
    with session(engine) as s:
        stored = s.get(Person, person.id)
        assert stored is not None
        assert stored.change_seq == person.change_seq + 1
        assert stored.email == "a@example.com"
        # A touched record that also changed still gets one number, not two.
        touch(s, stored)
        stored.title = "CFO"
        s.flush()
        assert stored.change_seq == person.change_seq + 2
        # The touch is spent by that flush: the next one leaves the record alone.
        s.flush()
        assert current_seq(s) == person.change_seq + 2


def test_touch_a_detached_record(engine: Engine) -> None:
    with session(engine) as s:
        person = Person(email="a@example.com")
        s.add(person)
    with session(engine) as s:
        touch(s, person)  # detached after the first session: touch adds it back
    with session(engine) as s:
        assert s.get(Person, person.id).change_seq == person.change_seq  # type: ignore[union-attr]
        assert person.change_seq == 2


def test_new_rows_first_then_changed_rows_by_table_and_id(engine: Engine) -> None:
    with session(engine) as s:
        old = [Person(id=f"{n:032x}", email=f"old{n}@example.com") for n in (3, 1, 2)]
        s.add_all(old)
    with session(engine) as s:
        for person in reversed(old):
            s.add(person)
            person.title = "changed"
        campaign = Campaign(name="New")
        s.add(campaign)
        s.flush()
        order = sorted([campaign, *old], key=lambda r: r.change_seq)
    assert [getattr(r, "email", None) or r.name for r in order] == [
        "New",
        "old1@example.com",
        "old2@example.com",
        "old3@example.com",
    ]


def test_tables_outside_the_hub_do_not_take_numbers(engine: Engine) -> None:
    with counting_bumps(engine) as bumps, session(engine) as s:
        s.add(SyncRun(mapping="m", started_at=utcnow()))
    assert bumps == []


def test_a_rolled_back_write_gives_its_numbers_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session(engine) as s:
        s.add(Person(email="a@example.com"))
        s.flush()
        raise RuntimeError("abort")
    with session(engine) as s:
        assert current_seq(s) == 0
        person = Person(email="b@example.com")
        s.add(person)
        s.flush()
        assert person.change_seq == 1


def test_a_missing_counter_row_is_an_error_not_a_silent_zero(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM hub_sequence"))
    with pytest.raises(RuntimeError, match="syncline init"), session(engine) as s:
        s.add(Person(email="a@example.com"))


def test_changes_since_reads_in_seq_order_including_soft_deletes(engine: Engine) -> None:
    with session(engine) as s:
        people = [Person(email=f"p{i}@example.com") for i in range(4)]
        s.add_all(people)
    with session(engine) as s:
        gone = s.get(Person, people[0].id)
        assert gone is not None
        gone.deleted_at = utcnow()
    with session(engine) as s:
        changes = changes_since(s, Person, 0)
        assert [p.email for p in changes] == [
            "p1@example.com",
            "p2@example.com",
            "p3@example.com",
            "p0@example.com",
        ]
        assert changes[-1].deleted_at is not None
        assert [p.change_seq for p in changes_since(s, Person, 2, limit=2)] == [3, 4]
        assert changes_since(s, Person, current_seq(s)) == []
        assert changes_since(s, Account, 0) == []


def _writer(engine: Engine, rounds: int, seed: int, out: list[tuple[int, str]]) -> None:
    rng = random.Random(seed)
    for _ in range(rounds):
        with Session(engine, expire_on_commit=False) as s:
            people = [
                Person(email=f"{seed}-{rng.random()}@example.com") for _ in range(rng.randint(1, 3))
            ]
            s.add_all(people)
            s.flush()
            # Hold the transaction open a little after taking numbers, as a slow batch would.
            time.sleep(rng.random() * 0.004)
            s.commit()
            out.extend((p.change_seq, p.id) for p in people)


def test_concurrent_writers_never_let_a_reader_skip_a_row(engine: Engine) -> None:
    """A reader following "changes since my cursor" while writers commit sees every row."""
    written: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    done = threading.Event()

    def read_once(cursor: int) -> int:
        with Session(engine) as s:
            for person in changes_since(s, Person, cursor):
                seen[person.id] = person.change_seq
                cursor = max(cursor, person.change_seq)
        return cursor

    def reader() -> None:
        cursor = 0
        while not done.wait(0.002):
            cursor = read_once(cursor)
        read_once(cursor)

    writers = [
        threading.Thread(target=_writer, args=(engine, 15, seed, written)) for seed in range(4)
    ]
    follower = threading.Thread(target=reader)
    follower.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    follower.join()

    seqs = sorted(seq for seq, _ in written)
    assert seqs == list(range(1, len(written) + 1))  # unique, and no gaps without rollbacks
    assert seen == {person_id: seq for seq, person_id in written}


@pytest.mark.postgres
def test_the_later_committer_gets_the_higher_seq(postgres_engine: Engine) -> None:
    first = Session(postgres_engine, expire_on_commit=False)
    second = Session(postgres_engine, expire_on_commit=False)
    a, b = Person(email="a@example.com"), Person(email="b@example.com")
    commits: list[str] = []
    try:
        first.add(a)
        first.flush()  # takes number 1 and the counter row lock

        def write_b() -> None:
            second.add(b)
            second.flush()  # waits here until `first` commits
            second.commit()
            commits.append("b")

        thread = threading.Thread(target=write_b)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive(), "the second writer should wait for the counter row"
        first.commit()
        commits.append("a")
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        first.close()
        second.close()
    assert commits == ["a", "b"]
    assert (a.change_seq, b.change_seq) == (1, 2)
    with session(postgres_engine) as s:
        assert [p.email for p in s.exec(select(Person).order_by(Person.change_seq))] == [
            "a@example.com",
            "b@example.com",
        ]
