"""From a webinar's registrants, report and absentees to statuses and attendance, by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.zoom.attendance import (
    ATTENDED,
    INVITED,
    NO_SHOW,
    REGISTERED,
    advance,
    attendance,
    outcomes,
)

REGISTRANTS = [
    {"id": "r1", "email": "Ann@Acme.com"},
    {"id": "r2", "email": "bob@acme.com"},
    {"id": "r3", "email": "cy@acme.com"},
]
#: Ann joins twice (a dropped connection), Bob dials in without an email, Dee was never
#: registered (a panelist's colleague let in by link).
REPORT = [
    {"user_email": "ann@acme.com", "join_time": "2026-11-05T16:02:10Z",
     "leave_time": "2026-11-05T16:20:00Z", "duration": 1070, "registrant_id": "r1"},
    {"user_email": "ann@acme.com", "join_time": "2026-11-05T16:25:00Z",
     "leave_time": "2026-11-05T17:00:00Z", "duration": 2100, "registrant_id": "r1"},
    {"user_email": "", "join_time": "2026-11-05T16:10:00Z", "duration": 600,
     "registrant_id": "r2"},
    {"user_email": "dee@acme.com", "join_time": "2026-11-05T16:30:00Z", "duration": 60},
    {"user_email": "", "join_time": "2026-11-05T16:31:00Z", "duration": 60},
]


def test_each_attendee_counts_once_from_the_first_join_with_all_minutes() -> None:
    came = attendance(REPORT, {"r1": "ann@acme.com", "r2": "bob@acme.com"})

    assert sorted(came) == ["ann@acme.com", "bob@acme.com", "dee@acme.com"]
    ann = came["ann@acme.com"]
    assert (ann.first_join, ann.minutes, ann.joins) == (
        datetime(2026, 11, 5, 16, 2, 10, tzinfo=UTC), 53, 2)  # 1,070 + 2,100 s
    assert came["bob@acme.com"].minutes == 10


def test_after_the_report_registrants_attended_or_did_not_show() -> None:
    statuses, came = outcomes(REGISTRANTS, REPORT, absentees=[{"email": "cy@acme.com"}])

    assert statuses == {"ann@acme.com": ATTENDED, "bob@acme.com": ATTENDED,
                        "cy@acme.com": NO_SHOW, "dee@acme.com": ATTENDED}
    assert set(came) == {"ann@acme.com", "bob@acme.com", "dee@acme.com"}


def test_before_the_report_nobody_is_a_no_show_yet() -> None:
    statuses, came = outcomes(REGISTRANTS, None, None)
    assert set(statuses.values()) == {REGISTERED} and came == {}


def test_an_absentee_list_that_lags_the_report_does_not_undo_attendance() -> None:
    statuses, _ = outcomes(REGISTRANTS, REPORT[:1], absentees=[{"email": "ann@acme.com"}])
    assert statuses["ann@acme.com"] == ATTENDED
    assert statuses["cy@acme.com"] == NO_SHOW


@pytest.mark.parametrize(("current", "reached", "after"), [
    (None, REGISTERED, REGISTERED),
    (INVITED, REGISTERED, REGISTERED),
    (REGISTERED, NO_SHOW, NO_SHOW),
    (NO_SHOW, ATTENDED, ATTENDED),  # watched it after all
    (ATTENDED, NO_SHOW, ATTENDED),  # an older report read again: never back
    (ATTENDED, REGISTERED, ATTENDED),
    (NO_SHOW, REGISTERED, NO_SHOW),
    ("Responded", REGISTERED, REGISTERED),  # a CRM's own status: the webinar's facts win
])
def test_statuses_only_move_forward(current: str | None, reached: str, after: str) -> None:
    assert advance(current, reached) == after
