"""Listing and reading webinars as a client does."""

from __future__ import annotations

from tests.sandboxes.zoom.conftest import Client


def test_list_webinars_for_me_the_host_id_or_email(client: Client) -> None:
    first = client.webinar("Q3 Launch", start_time="2027-01-10T16:00:00Z")
    client.webinar("Q4 Roadmap", start_time="2027-02-10T16:00:00Z")
    for user in ("me", client.sandbox.config.host_id, client.sandbox.config.host_email):
        body = client.get(f"/users/{user}/webinars").json()
        assert [w["topic"] for w in body["webinars"]] == ["Q3 Launch", "Q4 Roadmap"]
        assert body["total_records"] == 2
        assert body["next_page_token"] == ""
    listed = client.get("/users/me/webinars").json()["webinars"][0]
    assert listed["id"] == first["id"] and listed["uuid"] == first["uuid"]
    assert listed["start_time"] == "2027-01-10T16:00:00Z"


def test_unknown_user_answers_1001(client: Client) -> None:
    response = client.get("/users/nobody@example.com/webinars")
    assert response.status_code == 404
    assert response.json()["code"] == 1001


def test_upcoming_leaves_out_ended_webinars(client: Client) -> None:
    ended = client.webinar("Done")
    client.webinar("Next")
    client.control("POST", f"/webinars/{ended['id']}/end", {"participants": []})
    upcoming = client.get("/users/me/webinars", params={"type": "upcoming"}).json()
    assert [w["topic"] for w in upcoming["webinars"]] == ["Next"]
    scheduled = client.get("/users/me/webinars").json()
    assert len(scheduled["webinars"]) == 2


def test_get_webinar_and_its_errors(client: Client) -> None:
    webinar = client.webinar("Deep Dive", duration=45)
    body = client.get(f"/webinars/{webinar['id']}").json()
    assert body["topic"] == "Deep Dive" and body["duration"] == 45
    assert body["settings"]["approval_type"] == 0
    missing = client.get("/webinars/99999999999")
    assert missing.status_code == 404
    assert missing.json() == {"code": 3001,
                              "message": "Webinar 99999999999 not found or has expired."}
    invalid = client.get("/webinars/abc")
    assert invalid.status_code == 400
    assert invalid.json()["code"] == 300
