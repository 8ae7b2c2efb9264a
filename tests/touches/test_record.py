from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from core.db import session
from core.sequence import current_seq
from tests.touches.helpers import add, campaign, person, touches
from touches.record import (
    Outcome,
    TouchInput,
    TouchRefusedError,
    natural_key,
    record_touch,
    remove_touch,
)
from touches.utm import UtmAliases

WHEN = datetime(2026, 3, 1, 9, 15, 42, 123456, tzinfo=UTC)
ALIASES = UtmAliases.of({"fb": "facebook"}, {"ppc": "cpc"})


def _record(engine: Engine, touch: TouchInput, **options: object) -> Outcome:
    with session(engine) as db:
        outcome, _ = record_touch(db, touch, aliases=ALIASES, **options)  # type: ignore[arg-type]
    return outcome


def test_recording_twice_is_one_touch_and_no_new_change_seq(engine: Engine) -> None:
    ann, webinar = person("ann@x.com"), campaign("Webinar: Launch")
    add(engine, ann, webinar)
    touch = TouchInput(ann.id, WHEN, " Form_Fill ", "import", campaign_id=webinar.id,
                       source=" FB ", medium="PPC", utm_campaign=" Spring ", detail={"a": 1})
    assert _record(engine, touch) is Outcome.CREATED
    [row] = touches(engine)
    assert (row.touch_type, row.source, row.medium, row.utm_campaign, row.detail) == (
        "form_fill", "facebook", "cpc", "Spring", {"a": 1})
    assert row.natural_key == natural_key(ann.id, WHEN, "form_fill", webinar.id)
    assert row.occurred_at.replace(tzinfo=UTC) == WHEN.replace(microsecond=0)
    seq = current_seq(Session(engine))

    # The same touch a millisecond later, written in another zone: the same second in UTC.
    again = TouchInput(ann.id, (WHEN + timedelta(microseconds=1)).astimezone(
        timezone(timedelta(hours=2))), "form_fill", "import", campaign_id=webinar.id,
        source="fb", medium="ppc", utm_campaign="Spring", detail={"a": 1})
    assert _record(engine, again) is Outcome.UNCHANGED
    assert current_seq(Session(engine)) == seq
    assert [t.change_seq for t in touches(engine)] == [row.change_seq]

    changed = TouchInput(ann.id, WHEN, "form_fill", "import", campaign_id=webinar.id,
                         source="fb", medium="email", utm_campaign="Spring", detail={"a": 1})
    assert _record(engine, changed) is Outcome.UPDATED
    [updated] = touches(engine)
    assert updated.id == row.id and updated.medium == "email"
    assert updated.change_seq > seq


def test_a_different_type_or_campaign_is_another_touch(sqlite_engine: Engine) -> None:
    ann, one, two = person("ann@x.com"), campaign("One"), campaign("Two")
    add(sqlite_engine, ann, one, two)
    for kind, campaign_id in (("form_fill", one.id), ("web_visit", one.id),
                              ("form_fill", two.id), ("form_fill", None)):
        assert _record(sqlite_engine, TouchInput(ann.id, WHEN, kind, "import",
                                                 campaign_id=campaign_id)) is Outcome.CREATED
    assert len(touches(sqlite_engine)) == 4


def test_a_bad_touch_names_every_bad_field_and_writes_nothing(sqlite_engine: Engine) -> None:
    ann = person("ann@x.com")
    add(sqlite_engine, ann)
    bad = TouchInput(ann.id, WHEN, "carrier_pigeon", "import", source="x" * 121)
    with pytest.raises(TouchRefusedError) as caught:
        _record(sqlite_engine, bad)
    assert set(caught.value.problems) == {"touch_type", "source"}
    assert "'carrier_pigeon' is not a touch type (allowed: form_fill," in str(caught.value)
    assert "121 characters, more than the 120 the hub holds" in caught.value.problems["source"]
    assert touches(sqlite_engine, live=False) == []


def test_removed_touch_is_soft_deleted_and_comes_back_when_recorded_again(
    sqlite_engine: Engine,
) -> None:
    ann = person("ann@x.com")
    add(sqlite_engine, ann)
    touch = TouchInput(ann.id, WHEN, "event", "import")
    _record(sqlite_engine, touch)
    with session(sqlite_engine) as db:
        [row] = touches(sqlite_engine)
        assert remove_touch(db, db.merge(row)) is True
    assert touches(sqlite_engine) == []
    [gone] = touches(sqlite_engine, live=False)
    assert gone.deleted_at is not None and gone.change_seq > row.change_seq
    assert _record(sqlite_engine, touch) is Outcome.UPDATED
    [back] = touches(sqlite_engine)
    assert back.id == row.id and back.deleted_at is None


def test_fields_limits_what_a_source_overwrites(sqlite_engine: Engine) -> None:
    ann = person("ann@x.com")
    add(sqlite_engine, ann)
    _record(sqlite_engine, TouchInput(ann.id, WHEN, "event", "import", source="google"))
    outcome = _record(sqlite_engine, TouchInput(ann.id, WHEN, "event", "member_status",
                                                channel="Event"),
                      fields=("channel", "origin"))
    assert outcome is Outcome.UPDATED
    [row] = touches(sqlite_engine)
    assert (row.source, row.channel, row.origin) == ("google", "Event", "member_status")
