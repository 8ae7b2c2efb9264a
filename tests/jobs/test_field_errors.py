"""A refused field's own sync error: what the Errors page says, and when the row ends.

The row names the field, the value, the CRM's words and both fixes; it ends when that field
syncs, never because the record went through or failed for another cause, and ends with the
record when the record is gone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.errors import ErrorKind, FieldRefusal, PicklistRefusal
from core.models import SyncError
from jobs.failures import FIELD_REFUSED, Failure, FailureLog, refused_field
from mappings.spec import Mapping

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

MAPPING = Mapping.model_validate({
    "name": "crm-lead", "connection": "crm", "hub_object": "person", "remote_object": "Lead",
    "fields": [
        {"hub": "email", "remote": "Email"},
        {"hub": "phone", "remote": "Phone"},
        {"hub": "title", "remote": "Title"},
        {"hub": "lead_source", "remote": "LeadSource", "value_map": {"Organic": "Web"}},
    ],
})

PICKLIST = FieldRefusal(
    "Phone", "Phone: bad value for restricted picklist field: call after 5pm",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "call after 5pm",
    picklist=PicklistRefusal("call after 5pm", ("Mobile", "Office")))
TOO_LONG = FieldRefusal(
    "Title", "Title: data value too large: xxxx (max length=128)", "STRING_TOO_LONG", "x" * 129,
    hint="add a truncate transform on Title (max length 128) or shorten the value in the hub")
DUPLICATE = Failure(ErrorKind.DUPLICATE, "duplicate value found", code="DUPLICATE_VALUE")


def test_a_refused_picklist_value_names_both_fixes() -> None:
    failure = refused_field(MAPPING, PICKLIST)

    assert (failure.kind, failure.code, failure.field, failure.message) == (
        ErrorKind.VALIDATION, FIELD_REFUSED, "Phone",
        # The remote's own code leads its words: FIELD_REFUSED is ours.
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "
        "Phone: bad value for restricted picklist field: call after 5pm")
    assert failure.detail == {"Phone": "call after 5pm"}
    assert failure.hint == (
        "add 'call after 5pm' to the Phone picklist or fix phone in the hub; or add a value_map "
        "entry for 'call after 5pm' on Phone; allowed: Mobile, Office. The rest of the record "
        "synced; Phone goes once this is fixed")


def test_other_refusals_keep_the_connectors_fix() -> None:
    failure = refused_field(MAPPING, TOO_LONG)
    assert failure.hint is not None and failure.hint.startswith(
        "add a truncate transform on Title (max length 128) or shorten the value in the hub.")
    bare = refused_field(MAPPING, FieldRefusal("Email", "Email: invalid email address: x"))
    assert bare.hint is not None and bare.hint.startswith(
        "fix email in the hub, or change how the mapping fills Email.")


def rows(engine: Engine) -> dict[tuple[str | None, str | None, str | None], str]:
    """(record, code, field) → status, as the Errors page lists them."""
    with Session(engine) as session:
        return {(e.hub_id, e.code, e.field): e.status for e in session.exec(select(SyncError))}


def cycle(engine: Engine, minutes: int = 0) -> tuple[Session, FailureLog]:
    session = Session(engine)
    return session, FailureLog(session, "crm-lead", "to_remote", None,
                               NOW + timedelta(minutes=minutes))


def record(log: FailureLog, failure: Failure, hub_id: str) -> None:
    log.record(failure, hub_object="person", hub_id=hub_id, remote_object="Lead")


@pytest.fixture
def refused(engine: Engine) -> Engine:
    """Person p1 went through without Phone and Title; p2 failed as a duplicate."""
    session, log = cycle(engine)
    with session:
        record(log, refused_field(MAPPING, PICKLIST), "p1")
        record(log, refused_field(MAPPING, TOO_LONG), "p1")
        record(log, DUPLICATE, "p2")
        log.resolve(hub_ids=["p1"])  # p1 went through: its record-level errors end
        session.commit()
    return engine


def test_a_record_going_through_leaves_its_refused_fields_open(refused: Engine) -> None:
    assert rows(refused) == {
        ("p1", FIELD_REFUSED, "Phone"): "open",
        ("p1", FIELD_REFUSED, "Title"): "open",
        ("p2", "DUPLICATE_VALUE", None): "open",
    }
    with Session(refused) as session:
        row = session.exec(select(SyncError).where(SyncError.field == "Phone")).one()
    assert row.payload == {"Phone": "call after 5pm"}
    assert row.next_retry_at is None  # waits for a fix, not for a retry


def test_a_field_that_syncs_ends_its_own_row_only(refused: Engine) -> None:
    session, log = cycle(refused, 5)
    with session:
        record(log, DUPLICATE, "p1")  # p1 fails for another cause as well, this time
        log.resolve_fields({"p1": ["Phone", "Email"], "p2": ["Phone"]})
        session.commit()

    assert rows(refused) == {
        ("p1", FIELD_REFUSED, "Phone"): "resolved",
        ("p1", FIELD_REFUSED, "Title"): "open",
        ("p1", "DUPLICATE_VALUE", None): "open",
        ("p2", "DUPLICATE_VALUE", None): "open",
    }


def test_failing_for_another_cause_does_not_end_a_refused_field(refused: Engine) -> None:
    session, log = cycle(refused, 5)
    with session:
        record(log, DUPLICATE, "p1")
        session.commit()  # a new cause supersedes the record's older record-level causes

    assert rows(refused)[("p1", FIELD_REFUSED, "Phone")] == "open"
    assert rows(refused)[("p1", FIELD_REFUSED, "Title")] == "open"


def test_the_same_refusal_again_is_one_row_with_its_attempts(refused: Engine) -> None:
    session, log = cycle(refused, 5)
    with session:
        record(log, refused_field(MAPPING, PICKLIST), "p1")
        session.commit()
    with Session(refused) as session:
        [row] = session.exec(select(SyncError).where(SyncError.field == "Phone")).all()
    assert (row.attempts, row.status) == (2, "open")


def test_a_record_that_is_gone_ends_its_refused_fields(refused: Engine) -> None:
    session, log = cycle(refused, 5)
    with session:
        log.resolve(hub_ids=["p1"], refused_fields=True)
        session.commit()

    assert rows(refused)[("p1", FIELD_REFUSED, "Phone")] == "resolved"
    assert rows(refused)[("p1", FIELD_REFUSED, "Title")] == "resolved"
    assert rows(refused)[("p2", "DUPLICATE_VALUE", None)] == "open"
