"""After a webinar: absentees, the participants report, and how UUIDs must be encoded."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.sandboxes.zoom.conftest import Client, path_uuid


def _ended_webinar(client: Client, *, report_ready: bool = True, **values: Any
                   ) -> dict[str, Any]:
    webinar = client.webinar("Attribution 101", **values)
    client.register(webinar["id"],
                    {"email": "ada@example.com", "first_name": "Ada", "last_name": "L"},
                    {"email": "bob@example.com", "first_name": "Bob", "last_name": "B"},
                    {"email": "cy@example.com", "first_name": "Cy", "last_name": "C"})
    client.control("POST", f"/webinars/{webinar['id']}/end", {
        "report_ready": report_ready,
        "participants": [
            {"email": "ada@example.com", "join_time": "2027-01-10T16:00:00Z",
             "leave_time": "2027-01-10T16:20:00Z"},
            # Ada's connection dropped; she came back: Zoom reports each join as a row.
            {"email": "ada@example.com", "join_time": "2027-01-10T16:25:00Z",
             "leave_time": "2027-01-10T16:55:30Z"},
            {"email": "bob@example.com", "name": "Bob B.", "join_time": "2027-01-10T16:05:00Z",
             "leave_time": "2027-01-10T16:45:00Z"},
        ],
    })
    return webinar


def test_before_the_end_there_are_no_absentees_and_no_report(client: Client) -> None:
    webinar = client.webinar()
    absentees = client.get(f"/past_webinars/{path_uuid(webinar['uuid'])}/absentees")
    assert absentees.status_code == 404
    assert absentees.json()["code"] == 3001
    report = client.get(f"/report/webinars/{webinar['id']}/participants")
    assert report.status_code == 404
    assert report.json()["code"] == 3001


def test_participants_report_has_one_row_per_join(client: Client) -> None:
    webinar = _ended_webinar(client)
    body = client.get(f"/report/webinars/{webinar['id']}/participants").json()
    rows = body["participants"]
    assert body["total_records"] == 3 and body["next_page_token"] == ""
    ada = [row for row in rows if row["user_email"] == "ada@example.com"]
    assert [(r["join_time"], r["leave_time"], r["duration"]) for r in ada] == [
        ("2027-01-10T16:00:00Z", "2027-01-10T16:20:00Z", 1200),
        ("2027-01-10T16:25:00Z", "2027-01-10T16:55:30Z", 1830),
    ]
    assert ada[0]["id"] == ada[1]["id"]
    assert ada[0]["name"] == "Ada L"
    bob = next(row for row in rows if row["user_email"] == "bob@example.com")
    assert bob["name"] == "Bob B."
    for row in rows:
        assert {"id", "user_id", "name", "user_email", "join_time", "leave_time",
                "duration"} <= set(row)
        assert "registrant_id" not in row


def test_registrant_id_comes_with_include_fields(client: Client) -> None:
    webinar = _ended_webinar(client)
    registrants = {r["email"]: r["id"] for r in
                   client.get(f"/webinars/{webinar['id']}/registrants").json()["registrants"]}
    rows = client.get(f"/report/webinars/{webinar['id']}/participants",
                      params={"include_fields": "registrant_id"}).json()["participants"]
    assert {row["registrant_id"] for row in rows if row["user_email"] == "ada@example.com"} == {
        registrants["ada@example.com"]}


def test_report_not_ready_yet_answers_3001_until_it_is(client: Client) -> None:
    webinar = _ended_webinar(client, report_ready=False)
    report = client.get(f"/report/webinars/{webinar['id']}/participants")
    assert report.status_code == 404 and report.json()["code"] == 3001
    # Absentees come from registration data, available once the webinar ended.
    assert client.get(f"/past_webinars/{path_uuid(webinar['uuid'])}/absentees").status_code == 200
    client.control("POST", f"/webinars/{webinar['id']}/report-ready")
    assert client.get(f"/report/webinars/{webinar['id']}/participants").status_code == 200


def test_absentees_are_the_approved_registrants_who_never_joined(client: Client) -> None:
    webinar = _ended_webinar(client)
    body = client.get(f"/past_webinars/{webinar['id']}/absentees").json()
    assert [r["email"] for r in body["registrants"]] == ["cy@example.com"]
    assert body["registrants"][0]["first_name"] == "Cy"
    assert body["next_page_token"] == ""


def test_explicit_absentees_and_paging(client: Client) -> None:
    webinar = client.webinar()
    people = client.register(webinar["id"], *[{"email": f"p{i}@example.com", "first_name": "P"}
                                              for i in range(7)])
    client.control("POST", f"/webinars/{webinar['id']}/end",
                   {"participants": [], "absentees": [p["id"] for p in people[:5]]})
    first = client.get(f"/past_webinars/{webinar['id']}/absentees",
                       params={"page_size": 3}).json()
    assert len(first["registrants"]) == 3 and first["total_records"] == 5
    rest = client.get(f"/past_webinars/{webinar['id']}/absentees",
                      params={"page_size": 3, "next_page_token": first["next_page_token"]}).json()
    assert len(rest["registrants"]) == 2 and rest["next_page_token"] == ""


def test_uuid_with_slashes_must_be_double_encoded(client: Client) -> None:
    uuid = "/Ab//cD+eF9g=="
    webinar = _ended_webinar(client, uuid=uuid)
    once = quote(uuid, safe="")
    twice = quote(once, safe="")
    assert client.get(f"/past_webinars/{twice}/absentees").status_code == 200
    report = client.get(f"/report/webinars/{twice}/participants")
    assert report.status_code == 200 and report.json()["total_records"] == 3
    for path in (f"/past_webinars/{once}/absentees", f"/report/webinars/{once}/participants"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == 3001
    assert webinar["uuid"] == uuid


def test_plain_uuid_works_encoded_once_or_twice(client: Client) -> None:
    uuid = "pL4in+UUID/x9Q=="
    _ended_webinar(client, uuid=uuid)
    once = quote(uuid, safe="")
    for encoded in (once, quote(once, safe="")):
        assert client.get(f"/report/webinars/{encoded}/participants").status_code == 200
