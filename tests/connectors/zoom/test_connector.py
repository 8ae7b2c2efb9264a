"""The Zoom connector end to end through the sandbox: reads, reports, limits, writes, costs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors import build_connector
from connectors.base import Change, Op, OutboundRecord, Page, WriteStatus
from connectors.conformance import changes_of, read_all
from connectors.errors import ConnectorError, ErrorKind
from connectors.zoom import ZoomConnector
from sandboxes.zoom.sandbox import ZoomSandbox
from tests.connectors.zoom.sandbox_remote import control, register, sandbox_settings, schedule

NOW = datetime.now(UTC).replace(microsecond=0)


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def person(n: int | str, **more: Any) -> dict[str, Any]:
    return {"email": f"p{n}@acme.com", "first_name": f"P{n}", "last_name": "Doe", **more}


@pytest.fixture
def zoom(sandbox: ZoomSandbox) -> Iterator[ZoomConnector]:
    connector = ZoomConnector("zoom", sandbox_settings(sandbox))
    slept: list[float] = []
    connector.retry = replace(connector.retry, sleep=slept.append)
    connector.slept = slept  # type: ignore[attr-defined]
    yield connector
    connector.close()


def by_key(pages: list[Page]) -> dict[str, Change]:
    return {c.key: c for c in changes_of(pages)}


def ended_webinar(sandbox: ZoomSandbox, hours_ago: float = 3, **more: Any) -> str:
    """A webinar that started ``hours_ago`` and lasted an hour (registration still open)."""
    return schedule(sandbox, "Past", start=NOW - timedelta(hours=hours_ago), duration=60, **more)


def end(sandbox: ZoomSandbox, webinar_id: str, joins: list[tuple[str, int, int]],
        ready: bool = True, **more: Any) -> None:
    """End it: each join is (email, minutes after the start it began, minutes it lasted)."""
    start = datetime.fromisoformat(
        next(w for w in control(sandbox, "GET", "/webinars") if str(w["id"]) == webinar_id)
        ["start_time"].replace("Z", "+00:00"))
    participants = [{"email": email, "join_time": at(start + timedelta(minutes=begin)),
                     "leave_time": at(start + timedelta(minutes=begin + length))}
                    for email, begin, length in joins]
    control(sandbox, "POST", f"/webinars/{webinar_id}/end",
            {"participants": participants, "report_ready": ready, **more})


# -- reading registrants --------------------------------------------------------------------------


def test_a_new_registrant_appears_on_the_next_read_and_the_others_keep_their_version(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = schedule(sandbox)
    first_keys = register(sandbox, webinar, [person(1), person(2)])
    first = read_all(zoom, "registrant")
    assert set(by_key(first)) == set(first_keys)
    assert by_key(first)[first_keys[0]].fields["attendance"] == "Registered"

    [new_key] = register(sandbox, webinar, [person(3)])
    second = read_all(zoom, "registrant", first[-1].cursor)
    assert new_key in by_key(second)
    for key in first_keys:  # repeated (their webinar changed) but unchanged: same version
        assert by_key(second)[key].version == by_key(first)[key].version

    assert changes_of(read_all(zoom, "registrant", second[-1].cursor)) == [], "idle: nothing"


def test_attendance_waits_quietly_for_the_report_then_is_final(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = ended_webinar(sandbox)
    keys = register(sandbox, webinar, [person("a"), person("b"), person("c")])
    end(sandbox, webinar, [("pa@acme.com", 20, 10), ("PA@acme.com", 5, 10),
                           ("pb@acme.com", 0, 59)], ready=False)

    first = read_all(zoom, "registrant")
    assert {c.fields["attendance"] for c in changes_of(first)} == {"Registered"}
    before = zoom.api_calls
    waiting = read_all(zoom, "registrant", first[-1].cursor)
    assert changes_of(waiting) == [], "no report yet: no error, nothing new"
    assert zoom.api_calls - before == 2, "the listing and one report call"

    control(sandbox, "POST", f"/webinars/{webinar}/report-ready")
    ready_pages = read_all(zoom, "registrant", waiting[-1].cursor)
    ready = by_key(ready_pages)
    a, b, c = (ready[k].fields for k in keys)
    assert (a["attendance"], b["attendance"], c["attendance"]) == (
        "Attended", "Attended", "No Show")
    start = datetime.fromisoformat(
        sandbox.account.webinars[int(webinar)]["start_time"].replace("Z", "+00:00"))
    assert a["first_join_time"] == at(start + timedelta(minutes=5)), "the earliest join"
    assert (a["minutes_attended"], a["joins"]) == (20, 2), "both joins summed"
    assert (c["first_join_time"], c["minutes_attended"], c["joins"]) == (None, None, None)

    before = zoom.api_calls
    later = read_all(zoom, "registrant", ready_pages[-1].cursor)
    assert changes_of(later) == [], "final: its registrants are never read again"
    assert zoom.api_calls - before == 1, "the listing alone"


def test_an_absentee_list_lagging_the_report_never_makes_an_attendee_a_no_show(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = ended_webinar(sandbox)
    keys = register(sandbox, webinar, [person("a"), person("b")])
    # Zoom's absentee list still names both, though the report shows "a" joined.
    end(sandbox, webinar, [("pa@acme.com", 0, 30)], absentees=["pa@acme.com", "pb@acme.com"])
    read = by_key(read_all(zoom, "registrant"))
    assert [read[k].fields["attendance"] for k in keys] == ["Attended", "No Show"]


def test_a_uuid_starting_with_a_slash_reads_its_report(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = ended_webinar(sandbox, uuid="/ajXp112QmuoKj4854875==")
    [key] = register(sandbox, webinar, [person("a")])
    end(sandbox, webinar, [("pa@acme.com", 0, 45)])
    change = by_key(read_all(zoom, "registrant"))[key]
    assert (change.fields["attendance"], change.fields["minutes_attended"]) == ("Attended", 45)
    assert by_key(read_all(zoom, "webinar"))[webinar].fields["uuid"] == "/ajXp112QmuoKj4854875=="


def test_webinars_are_read_every_time_with_their_status(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    upcoming, past = schedule(sandbox, "Soon"), ended_webinar(sandbox)
    first = by_key(read_all(zoom, "webinar"))
    assert (first[upcoming].fields["status"], first[past].fields["status"]) == (
        "upcoming", "ended")
    assert first[upcoming].fields["duration"] == 60
    again = by_key(read_all(zoom, "webinar", read_all(zoom, "webinar")[-1].cursor))
    assert {k: c.version for k, c in again.items()} == {k: c.version for k, c in first.items()}


# -- limits -------------------------------------------------------------------------------------


def test_a_storm_of_per_second_429s_is_waited_out(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = schedule(sandbox)
    keys = register(sandbox, webinar, [person(n) for n in range(5)])
    sandbox.faults.configure(rate_429=0.4, seed=7)
    zoom.retry = replace(zoom.retry, max_tries=20)
    assert set(by_key(read_all(zoom, "registrant"))) == set(keys)
    slept = zoom.slept  # type: ignore[attr-defined]
    assert slept and set(slept) == {1.0}, "a per-second 429 waits a second"


def test_the_daily_limit_is_rate_limited_at_once_with_its_reset_time(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = ended_webinar(sandbox)
    register(sandbox, webinar, [person("a")])
    end(sandbox, webinar, [("pa@acme.com", 0, 30)])
    sandbox.limits.configure(daily=1)  # the report takes it; the absentees meet the limit
    with pytest.raises(ConnectorError) as info:
        read_all(zoom, "registrant")
    assert info.value.kind is ErrorKind.RATE_LIMITED
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 86_400
    assert info.value.hint is not None and "daily limit" in info.value.hint
    assert zoom.slept == [], "never waited out in the cycle"  # type: ignore[attr-defined]
    usage = zoom.usage()
    assert usage is not None and (usage.used, usage.limit) == (1, 1)


def test_usage_reports_the_days_heavy_calls(sandbox: ZoomSandbox, zoom: ZoomConnector) -> None:
    assert zoom.usage() is None, "nothing seen yet"
    webinar = ended_webinar(sandbox)
    register(sandbox, webinar, [person("a")])
    end(sandbox, webinar, [("pa@acme.com", 0, 30)])
    sandbox.limits.configure(daily=100)
    read_all(zoom, "registrant")
    usage = zoom.usage()
    assert usage is not None and (usage.used, usage.limit) == (2, 100), "report and absentees"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert zoom.http.usage(tomorrow).used == 0, "the count resets at 00:00 UTC"  # type: ignore[union-attr]


# -- the cost of an idle cycle ------------------------------------------------------------------


def test_an_idle_cycle_costs_the_listing_the_upcoming_registrants_and_waiting_reports(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    big, small = schedule(sandbox, "Big"), schedule(sandbox, "Small")
    register(sandbox, big, [person(n) for n in range(650)])
    register(sandbox, small, [person(n) for n in range(10)])
    waiting, final = ended_webinar(sandbox, 3), ended_webinar(sandbox, 5)
    register(sandbox, waiting, [person("w")])
    register(sandbox, final, [person("f")])
    end(sandbox, waiting, [], ready=False)
    end(sandbox, final, [("pf@acme.com", 0, 10)])
    old = ended_webinar(sandbox, 24 * 30)
    register(sandbox, old, [person("o")])

    full = read_all(zoom, "registrant")
    assert len(changes_of(full)) == 650 + 10 + 1 + 1 + 1, "a full read takes old webinars once"
    people = read_all(zoom, "person")
    cursor, people_cursor = full[-1].cursor, people[-1].cursor

    before = zoom.api_calls
    idle = read_all(zoom, "registrant", cursor)
    # 1 listing + ⌈650/300⌉ + ⌈10/300⌉ for the upcoming ones + 1 for the report not ready.
    assert zoom.api_calls - before == 1 + 3 + 1 + 1
    assert changes_of(idle) == []
    before = zoom.api_calls
    assert changes_of(read_all(zoom, "person", people_cursor)) == []
    read_all(zoom, "webinar")
    assert zoom.api_calls == before, "the other objects of the cycle read the cache"


# -- people -------------------------------------------------------------------------------------


def test_a_person_carries_their_latest_registration(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    first, second = schedule(sandbox, "One"), schedule(sandbox, "Two")
    register(sandbox, first, [person("x", org="Newer Inc", create_time=at(NOW - timedelta(
        hours=1)))])
    register(sandbox, second, [{**person("x", org="Older Inc"), "email": "PX@Acme.com",
                                "create_time": at(NOW - timedelta(days=2))}])
    register(sandbox, second, [person("y", org="Y Ltd", create_time=at(NOW - timedelta(days=2)))])
    pages = read_all(zoom, "person")
    people = by_key(pages)
    assert set(people) == {"px@acme.com", "py@acme.com"}
    assert people["px@acme.com"].fields["org"] == "Newer Inc"
    assert people["px@acme.com"].fields["last_registered_at"] == at(NOW - timedelta(hours=1))

    third = schedule(sandbox, "Three")
    register(sandbox, third, [person("x", org="Newest plc")])
    later = by_key(read_all(zoom, "person", pages[-1].cursor))
    assert later["px@acme.com"].fields["org"] == "Newest plc"
    assert "py@acme.com" not in later, "only people who registered since"
    [found] = zoom.lookup("person", "email", ["PX@ACME.COM"])
    assert found.fields["org"] == "Newest plc"


# -- writing registrants ------------------------------------------------------------------------


def test_registering_from_the_hub_and_the_same_email_again(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = schedule(sandbox)
    fields = {"webinar_id": webinar, "email": "Ann@Acme.com", "first_name": "Ann",
              "last_name": "Lee", "org": "Acme", "job_title": "CMO"}
    [made] = zoom.write("registrant", [OutboundRecord("r1", None, fields)])
    assert made.status is WriteStatus.CREATED and made.key and made.key.startswith(f"{webinar}:")
    [again] = zoom.write("registrant", [OutboundRecord("r2", None, {
        **fields, "email": "ann@acme.com"})])
    assert (again.status, again.key) == (WriteStatus.CREATED, made.key), "Zoom's existing one"
    [read] = changes_of(read_all(zoom, "registrant"))
    assert (read.key, read.fields["person"], read.fields["job_title"]) == (
        made.key, "ann@acme.com", "CMO")
    [found] = zoom.lookup("registrant", "email", ["ANN@acme.com"])
    assert found.key == made.key


def test_zoom_refusals_are_per_record_results(sandbox: ZoomSandbox, zoom: ZoomConnector) -> None:
    over = ended_webinar(sandbox)
    end(sandbox, over, [])
    closed = schedule(sandbox, "No registration", approval_type=2)
    open_ = schedule(sandbox)
    results = zoom.write("registrant", [
        OutboundRecord("over", None, {"webinar_id": over, **person(1)}),
        OutboundRecord("closed", None, {"webinar_id": closed, **person(2)}),
        OutboundRecord("gone", None, {"webinar_id": "99", **person(3)}),
        OutboundRecord("bad", None, {"webinar_id": open_, **person(4), "email": "not-an-email"}),
        OutboundRecord("ok", None, {"webinar_id": open_, **person(5)}),
    ])
    assert [r.ref for r in results] == ["over", "closed", "gone", "bad", "ok"]
    assert [(r.status, r.error and r.error.code) for r in results[:4]] == [
        (WriteStatus.FAILED, "3038"), (WriteStatus.FAILED, "3000"),
        (WriteStatus.FAILED, "3001"), (WriteStatus.FAILED, "300")]
    assert results[2].error is not None and results[2].error.kind is ErrorKind.NOT_FOUND
    assert results[4].status is WriteStatus.CREATED


def test_cancelling_registrations_in_batches_of_30(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = schedule(sandbox)
    keys = register(sandbox, webinar, [person(n) for n in range(35)])
    before = zoom.api_calls
    results = zoom.write("registrant", [OutboundRecord(k, k, {}, op=Op.DELETE)
                                        for k in keys])
    assert {r.status for r in results} == {WriteStatus.DELETED}
    assert zoom.api_calls - before == 1 + 2, "the listing, then 30 and 5"
    again = zoom.write("registrant", [OutboundRecord("k", keys[0], {}, op="delete")])  # type: ignore[arg-type]
    assert again[0].status is WriteStatus.UNCHANGED
    assert changes_of(read_all(zoom, "registrant")) == []


def test_webinars_and_people_are_read_only(sandbox: ZoomSandbox, zoom: ZoomConnector) -> None:
    for object_name in ("webinar", "person"):
        [result] = zoom.write(object_name, [OutboundRecord("w", None, {"topic": "New"})])
        assert result.status is WriteStatus.FAILED
        assert result.error is not None and result.error.kind is ErrorKind.VALIDATION
    described = zoom.describe()
    assert not any(f.createable or f.updateable for f in described["webinar"].fields.values())
    assert not any(f.updateable for f in described["registrant"].fields.values())


def test_lookups_by_key_and_email(sandbox: ZoomSandbox, zoom: ZoomConnector) -> None:
    webinar = schedule(sandbox)
    keys = register(sandbox, webinar, [person(1), person(2)])
    assert [c.key for c in zoom.lookup("registrant", "key", [keys[1], "9:nobody"])] == [keys[1]]
    assert [c.key for c in zoom.lookup("webinar", "id", [webinar])] == [webinar]
    assert [c.key for c in zoom.lookup("person", "email", ["P1@ACME.COM"])] == ["p1@acme.com"]


def test_settings_are_checked_and_the_type_is_registered(sandbox: ZoomSandbox) -> None:
    connector = build_connector("zoom", sandbox_settings(sandbox, recent_days=3))
    assert isinstance(connector, ZoomConnector) and connector.reader.recent.days == 3
    assert "secret" not in repr(connector.settings).lower()
    with pytest.raises(ConnectorError) as info:
        build_connector("zoom", sandbox_settings(sandbox, api_url="http://zoom.example.com/v2"))
    assert info.value.kind is ErrorKind.CONFIG and "api_url" in info.value.message
    with pytest.raises(ConnectorError) as info:
        build_connector("zoom", sandbox_settings(sandbox, page_size=301))
    assert "page_size" in info.value.message


def test_an_ended_webinar_without_registration_is_not_asked_for_its_report_again(
    sandbox: ZoomSandbox, zoom: ZoomConnector,
) -> None:
    webinar = ended_webinar(sandbox, approval_type=2)
    end(sandbox, webinar, [("guest@acme.com", 0, 30)])
    first = read_all(zoom, "registrant")
    assert changes_of(first) == []
    before = zoom.api_calls
    assert changes_of(read_all(zoom, "registrant", first[-1].cursor)) == []
    assert zoom.api_calls - before == 1, "the listing alone"
