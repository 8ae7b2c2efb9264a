"""Triage: find errors by filter, retry/ignore/reopen them with an audit entry, export as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.models import Audit, SyncError
from core.redaction import redact
from jobs import causes, triage
from jobs.triage import EXPORT_COLUMNS, ErrorFilter

ALL = ("open", "retrying", "resolved", "ignored")


class Seeded:
    """The seeded errors by name, and their ids."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine = engine
        self.now = now
        self.ids: dict[str, int] = {}

    def add(self, name: str, *, age: timedelta, **values: Any) -> None:
        seen = self.now - age
        row = SyncError(
            fingerprint=name,
            mapping=values.pop("mapping", "crm-lead"),
            direction=values.pop("direction", "to_remote"),
            level=values.pop("level", "record"),
            kind=values.pop("kind", "validation"),
            message=values.pop("message", f"{name} was refused"),
            first_seen=seen,
            last_seen=seen,
            **values,
        )
        with Session(self.engine) as session:
            session.add(row)
            causes.recount(session, [row.mapping])  # as every writer of errors does
            session.commit()
            assert row.id is not None
            self.ids[name] = row.id

    def names(self, rows: Any) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[row.id] for row in rows]

    def get(self, name: str) -> SyncError:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(SyncError, self.ids[name])
            assert row is not None
            return row


@pytest.fixture
def errors(engine: Engine) -> Seeded:
    seeded = Seeded(engine, utcnow())
    day = timedelta(days=1)
    seeded.add(
        "ann-too-long",
        age=day,
        code="STRING_TOO_LONG",
        field="Title",
        email="ann@acme.com",
        hub_id="H-ann",
        remote_id="00Q-ann",
        status="open",
    )
    seeded.add(
        "bo-duplicate",
        age=10 * day,
        direction="to_hub",
        kind="duplicate",
        code="DUPLICATE_VALUE",
        email="bo@beta.io",
        hub_id="H-bo",
        remote_id="00Q-bo",
        status="retrying",
        next_retry_at=seeded.now + timedelta(hours=1),
    )
    seeded.add(
        "lead-auth",
        age=timedelta(0),
        direction="cycle",
        level="job",
        kind="auth",
        code="INVALID_API_KEY",
        status="open",
    )
    seeded.add(
        "cy-too-long",
        age=timedelta(hours=2),
        mapping="crm-account",
        code="STRING_TOO_LONG",
        email="cy@corp.io",
        remote_id="001-cy",
        status="open",
    )
    seeded.add(
        "dee-ignored",
        age=3 * day,
        code="STRING_TOO_LONG",
        email="dee@acme.com",
        hub_id="H-dee",
        status="ignored",
    )
    seeded.add(
        "eve-resolved",
        age=2 * day,
        kind="transient",
        code="UNABLE_TO_LOCK_ROW",
        email="eve@acme.com",
        status="resolved",
        resolved_at=seeded.now,
    )
    return seeded


def _audits(engine: Engine) -> list[Audit]:
    with Session(engine) as session:
        return list(session.exec(select(Audit).order_by(Audit.id)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (ErrorFilter(), ["lead-auth", "cy-too-long", "ann-too-long", "bo-duplicate"]),
        (ErrorFilter(mapping="crm-account"), ["cy-too-long"]),
        (ErrorFilter(status=("ignored", "resolved")), ["eve-resolved", "dee-ignored"]),
        (ErrorFilter(status=ALL, kind="transient"), ["eve-resolved"]),
        (ErrorFilter(kind="duplicate"), ["bo-duplicate"]),
        (ErrorFilter(code="STRING_TOO_LONG"), ["cy-too-long", "ann-too-long"]),
        (
            ErrorFilter(code="STRING_TOO_LONG", mapping="crm-lead", status=ALL),
            ["ann-too-long", "dee-ignored"],
        ),
        (ErrorFilter(search=" Ann@Acme.com "), ["ann-too-long"]),
        (ErrorFilter(search="H-bo"), ["bo-duplicate"]),
        (ErrorFilter(search="001-cy"), ["cy-too-long"]),
        (ErrorFilter(search="ann"), []),
        (
            ErrorFilter(since=utcnow() - timedelta(hours=36), status=ALL),
            ["lead-auth", "cy-too-long", "ann-too-long"],
        ),
        (ErrorFilter(level="job"), ["lead-auth"]),
        (ErrorFilter(ids=()), ["lead-auth", "cy-too-long", "ann-too-long", "bo-duplicate"]),
    ],
)
def test_the_filter_finds_what_it_says_newest_first(
    errors: Seeded, where: ErrorFilter, expected: list[str]
) -> None:
    assert errors.names(triage.find(errors.engine, where)) == expected


def test_the_filter_by_ids_and_a_limit(errors: Seeded) -> None:
    ids = [errors.ids["bo-duplicate"], errors.ids["ann-too-long"], errors.ids["dee-ignored"]]
    assert errors.names(triage.find(errors.engine, ErrorFilter(ids=ids))) == [
        "ann-too-long",
        "bo-duplicate",
    ]
    assert errors.names(triage.find(errors.engine, ErrorFilter(), limit=2)) == [
        "lead-auth",
        "cy-too-long",
    ]


def test_retry_queues_record_errors_and_leaves_job_errors_alone(errors: Seeded) -> None:
    engine = errors.engine
    before = utcnow()

    count = triage.retry(engine, ErrorFilter(mapping="crm-lead", status=ALL), "cli:ops")

    assert count == 3
    for name in ("ann-too-long", "bo-duplicate", "dee-ignored"):
        row = errors.get(name)
        assert row.status == "retrying", name
        assert row.next_retry_at is not None and row.next_retry_at <= utcnow(), "due now"
        assert row.next_retry_at >= before - timedelta(seconds=1)
    job = errors.get("lead-auth")
    assert (job.status, job.next_retry_at) == ("open", None), "job-level errors clear by a run"
    assert errors.get("eve-resolved").status == "resolved"
    assert errors.get("cy-too-long").status == "open", "other mapping"
    [audit] = _audits(engine)
    assert (audit.actor, audit.action, audit.target) == ("cli:ops", "errors.retry", "crm-lead")
    assert audit.detail["count"] == 3
    assert sorted(audit.detail["ids"]) == sorted(
        errors.ids[n] for n in ("ann-too-long", "bo-duplicate", "dee-ignored")
    )


def test_retrying_only_a_job_error_does_nothing(errors: Seeded) -> None:
    where = ErrorFilter(ids=[errors.ids["lead-auth"]], status=ALL)
    assert triage.retry(errors.engine, where, "cli:ops") == 0
    assert errors.get("lead-auth").status == "open"
    assert _audits(errors.engine) == [], "no audit entry for an action that changed nothing"


def test_ignore_then_reopen(errors: Seeded) -> None:
    engine = errors.engine
    where = ErrorFilter(search="bo@beta.io", status=ALL)

    assert triage.ignore(engine, where, "web:admin") == 1
    row = errors.get("bo-duplicate")
    assert (row.status, row.next_retry_at) == ("ignored", None)
    assert triage.find(engine, ErrorFilter(search="bo@beta.io")) == [], "hidden from the list"
    assert triage.ignore(engine, where, "web:admin") == 0, "already ignored"

    assert triage.reopen(engine, where, "web:admin") == 1
    assert errors.get("bo-duplicate").status == "open"
    assert (
        triage.reopen(
            engine, ErrorFilter(ids=[errors.ids["eve-resolved"]], status=ALL), "web:admin"
        )
        == 1
    )
    row = errors.get("eve-resolved")
    assert (row.status, row.resolved_at) == ("open", None)

    audits = _audits(engine)
    assert [(a.action, a.detail["count"], a.actor) for a in audits] == [
        ("errors.ignore", 1, "web:admin"),
        ("errors.reopen", 1, "web:admin"),
        ("errors.reopen", 1, "web:admin"),
    ]
    assert audits[0].detail["ids"] == [errors.ids["bo-duplicate"]]


def test_an_action_only_touches_the_statuses_its_filter_names(errors: Seeded) -> None:
    """`syncline errors retry --mapping crm-lead --status open` must not revive ignored ones."""
    engine = errors.engine

    retried = triage.retry(engine, ErrorFilter(mapping="crm-lead", status=("open",)), "cli:ops")
    assert retried == 1
    assert errors.get("ann-too-long").status == "retrying"
    assert errors.get("dee-ignored").status == "ignored"
    assert errors.get("bo-duplicate").next_retry_at > utcnow(), "its backoff is kept"  # type: ignore[operator]

    reopened = triage.reopen(engine, ErrorFilter(status=("ignored",)), "cli:ops")
    assert reopened == 1
    assert errors.get("dee-ignored").status == "open"
    assert errors.get("eve-resolved").status == "resolved"

    assert triage.ignore(engine, ErrorFilter(status=("resolved",)), "cli:ops") == 0
    assert [a.detail["count"] for a in _audits(engine)] == [1, 1]


def test_export_writes_a_header_and_the_matching_rows(errors: Seeded) -> None:
    engine = errors.engine
    errors.add(
        "quoted",
        age=timedelta(minutes=5),
        code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        email="q@acme.com",
        status="open",
        message='Title: "VP, Sales"\nis not allowed',
        hint=None,
    )
    where = ErrorFilter(mapping="crm-lead")
    out = io.StringIO()

    count = triage.export_csv(engine, where, out)

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(EXPORT_COLUMNS)
    expected = triage.find(engine, where)
    assert count == len(rows) - 1 == len(expected) == 4
    assert [int(r[0]) for r in rows[1:]] == [e.id for e in expected]
    quoted = dict(zip(rows[0], rows[2], strict=True))
    assert quoted["message"] == 'Title: "VP, Sales"\nis not allowed'
    assert (quoted["email"], quoted["hint"], quoted["next_retry_at"]) == ("q@acme.com", "", "")
    assert (quoted["mapping"], quoted["status"], quoted["level"]) == ("crm-lead", "open", "record")

    empty = io.StringIO()
    assert triage.export_csv(engine, ErrorFilter(mapping="nope"), empty) == 0
    assert list(csv.reader(io.StringIO(empty.getvalue()))) == [list(EXPORT_COLUMNS)]


def test_iter_matching_streams_every_row_in_order(errors: Seeded) -> None:
    engine = errors.engine
    for i in range(7):
        errors.add(f"bulk-{i}", age=timedelta(hours=30 + i), status="open")
    where = ErrorFilter(mapping="crm-lead", status=ALL)

    stream = triage.iter_matching(engine, where, batch=2)

    assert isinstance(stream, Iterator)
    first = next(stream)
    rest = list(stream)
    assert errors.names([first, *rest]) == errors.names(triage.find(engine, where))
    assert len(rest) + 1 == 5 + 7


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (ErrorFilter(direction="to_hub"), ["bo-duplicate"]),
        (ErrorFilter(direction="cycle"), ["lead-auth"]),
        (ErrorFilter(field="Title"), ["ann-too-long"]),
        (ErrorFilter(field=triage.BLANK), ["lead-auth", "cy-too-long", "bo-duplicate"]),
        (ErrorFilter(code=triage.BLANK, status=ALL), []),
        (
            ErrorFilter(until=utcnow() - timedelta(hours=36), status=ALL),
            ["eve-resolved", "dee-ignored", "bo-duplicate"],
        ),
        (
            ErrorFilter(
                since=utcnow() - timedelta(days=4),
                until=utcnow() - timedelta(hours=12),
                status=ALL,
            ),
            ["ann-too-long", "eve-resolved", "dee-ignored"],
        ),
    ],
)
def test_direction_field_and_date_range(
    errors: Seeded, where: ErrorFilter, expected: list[str]
) -> None:
    assert errors.names(triage.find(errors.engine, where)) == expected


def test_errors_grouped_by_cause_with_counts_newest_first(errors: Seeded) -> None:
    errors.add(
        "fay-too-long",
        age=timedelta(hours=1),
        code="STRING_TOO_LONG",
        field="Title",
        email="fay@acme.com",
        status="retrying",
        message="Title: data value too large",
        hint="shorten it",
    )

    causes = triage.causes(errors.engine, ErrorFilter())

    assert [(c.key, c.count) for c in causes] == [
        ("crm-lead/cycle/job/auth/INVALID_API_KEY/-", 1),
        ("crm-lead/to_remote/record/validation/STRING_TOO_LONG/Title", 2),
        ("crm-account/to_remote/record/validation/STRING_TOO_LONG/-", 1),
        ("crm-lead/to_hub/record/duplicate/DUPLICATE_VALUE/-", 1),
    ]
    title = causes[1]
    assert title.last_seen.replace(tzinfo=None) == (
        errors.get("fay-too-long").last_seen.replace(tzinfo=None)
    )
    assert (title.message, title.hint) == ("Title: data value too large", "shorten it")
    assert title.example_id == errors.ids["fay-too-long"]
    assert errors.names(triage.find(errors.engine, title.narrow(ErrorFilter()))) == [
        "fay-too-long",
        "ann-too-long",
    ]
    no_field = causes[2].narrow(ErrorFilter())
    assert errors.names(triage.find(errors.engine, no_field)) == ["cy-too-long"]

    everything = triage.causes(errors.engine, ErrorFilter(status=ALL, code="STRING_TOO_LONG"))
    assert [(c.key, c.count) for c in everything] == [
        ("crm-lead/to_remote/record/validation/STRING_TOO_LONG/Title", 2),
        ("crm-account/to_remote/record/validation/STRING_TOO_LONG/-", 1),
        ("crm-lead/to_remote/record/validation/STRING_TOO_LONG/-", 1),
    ]
    assert [c.key for c in triage.causes(errors.engine, ErrorFilter(), limit=2)] == [
        c.key for c in causes[:2]
    ]
    assert triage.causes(errors.engine, ErrorFilter(mapping="nope")) == []


@pytest.mark.parametrize(
    "where",
    [
        ErrorFilter(),
        ErrorFilter(status=ALL),
        ErrorFilter(status=("resolved",)),
        ErrorFilter(code="STRING_TOO_LONG", status=ALL),
        ErrorFilter(field="-", status=ALL),
        ErrorFilter(code="-"),
        ErrorFilter(mapping="crm-lead", direction="to_remote", level="record", kind="validation"),
    ],
    ids=["default", "all", "resolved", "code", "no-field", "no-code", "columns"],
)
def test_kept_counts_group_exactly_as_the_rows_do(errors: Seeded, where: ErrorFilter) -> None:
    # A date range far in the past and future sends causes() to the rows themselves; every
    # other filter is answered from sync_error_cause. Both must say the same.
    wide = replace(where, since=datetime(2000, 1, 1, tzinfo=UTC),
                   until=datetime(2100, 1, 1, tzinfo=UTC))
    kept, live = triage.causes(errors.engine, where), triage.causes(errors.engine, wide)
    assert [(c.key, c.count, c.example_id, c.message) for c in kept] == [
        (c.key, c.count, c.example_id, c.message) for c in live
    ]


def test_actions_and_the_purge_keep_the_counts(errors: Seeded) -> None:
    from tests.causecounts import assert_cause_counts

    assert_cause_counts(errors.engine)
    triage.ignore(errors.engine, ErrorFilter(code="STRING_TOO_LONG"), "ann@example.com")
    assert_cause_counts(errors.engine)
    triage.retry(errors.engine, ErrorFilter(status=ALL), "ann@example.com")
    assert_cause_counts(errors.engine)
    triage.reopen(errors.engine, ErrorFilter(status=ALL), "ann@example.com")
    assert_cause_counts(errors.engine)


def test_which_actions_can_change_what(errors: Seeded) -> None:
    assert triage.possible_actions(("open", "retrying")) == ["retry", "ignore"]
    assert triage.possible_actions(("resolved",)) == ["reopen"]
    assert triage.possible_actions(("ignored",)) == ["retry", "reopen"]
    assert triage.possible_actions(("open",), ("job",)) == ["ignore"]
    assert triage.possible_actions(ALL) == ["retry", "ignore", "reopen"]


def test_a_large_action_updates_in_chunks_in_one_transaction(
    errors: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(triage, "ID_CHUNK", 2)
    for i in range(5):
        errors.add(f"bulk-{i}", age=timedelta(minutes=i), code="BULK", status="open")

    assert triage.ignore(errors.engine, ErrorFilter(code="BULK"), "web:admin") == 5

    assert {errors.get(f"bulk-{i}").status for i in range(5)} == {"ignored"}
    [audit] = _audits(errors.engine)
    assert audit.detail["count"] == 5
    assert audit.detail["where"] == {"code": "BULK", "status": ["open", "retrying"]}


def test_export_redacts_a_secret_a_row_was_stored_with(errors: Seeded) -> None:
    secret = "stored-before-registration-5d1"
    message = f"invalid_grant: password={secret}x&user=a"
    errors.add("old", age=timedelta(0), status="open", message=message, hint=f"token {secret}")
    redact.add([secret])
    out = io.StringIO()
    triage.export_csv(errors.engine, ErrorFilter(ids=[errors.ids["old"]]), out)
    [row] = csv.DictReader(io.StringIO(out.getvalue()))
    assert secret not in out.getvalue()
    assert row["message"] == "invalid_grant: password=***&user=a"
    assert row["hint"] == "token ***"


def test_export_neutralises_cells_a_spreadsheet_would_run(errors: Seeded) -> None:
    texts = ["=1+2", "+SUM(A1)", "-3+cmd|' /C calc'!A0", "@cmd", "\tx", "safe = text", "-3"]
    for i, text in enumerate(texts):
        errors.add(f"formula-{i}", age=timedelta(seconds=i), status="open", message=text)
    out = io.StringIO()
    ids = [errors.ids[f"formula-{i}"] for i in range(len(texts))]

    assert triage.export_csv(errors.engine, ErrorFilter(ids=ids), out) == len(texts)

    messages = [row["message"] for row in csv.DictReader(io.StringIO(out.getvalue()))]
    assert messages == [
        "'=1+2", "'+SUM(A1)", "'-3+cmd|' /C calc'!A0", "'@cmd", "'\tx", "safe = text", "-3"
    ]
