"""Registrants: adding, duplicates, statuses and paging through them."""

from __future__ import annotations

from tests.sandboxes.zoom.conftest import Client


def test_add_registrant_answers_201_with_registrant_id_and_join_url(client: Client) -> None:
    webinar = client.webinar("Pipeline Webinar", start_time="2027-03-01T17:00:00Z")
    response = client.call("POST", f"/webinars/{webinar['id']}/registrants",
                           json={"email": "ada@example.com", "first_name": "Ada",
                                 "last_name": "Lovelace", "org": "Engines Ltd"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == webinar["id"]
    assert body["topic"] == "Pipeline Webinar"
    assert body["start_time"] == "2027-03-01T17:00:00Z"
    assert body["registrant_id"] and body["join_url"].startswith("https://")
    listed = client.get(f"/webinars/{webinar['id']}/registrants").json()["registrants"]
    assert len(listed) == 1
    assert listed[0]["id"] == body["registrant_id"]
    assert listed[0]["join_url"] == body["join_url"]
    assert listed[0]["status"] == "approved"
    assert listed[0]["org"] == "Engines Ltd"
    assert listed[0]["create_time"].endswith("Z")


def test_existing_email_answers_the_existing_registration(client: Client) -> None:
    webinar = client.webinar()
    path = f"/webinars/{webinar['id']}/registrants"
    first = client.call("POST", path, json={"email": "ada@example.com", "first_name": "Ada"})
    again = client.call("POST", path, json={"email": "ADA@example.com", "first_name": "Ada"})
    assert again.status_code == 201
    assert again.json()["registrant_id"] == first.json()["registrant_id"]
    assert again.json()["join_url"] == first.json()["join_url"]
    assert client.get(path).json()["total_records"] == 1


def test_registration_without_email_fails_validation(client: Client) -> None:
    webinar = client.webinar()
    response = client.call("POST", f"/webinars/{webinar['id']}/registrants",
                           json={"first_name": "Ada"})
    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert response.json()["errors"][0]["field"] == "email"
    missing = client.call("POST", "/webinars/99999999999/registrants",
                          json={"email": "a@example.com", "first_name": "A"})
    assert missing.status_code == 404 and missing.json()["code"] == 3001


def test_registering_after_the_webinar_ended_answers_3038(client: Client) -> None:
    webinar = client.webinar()
    client.control("POST", f"/webinars/{webinar['id']}/end", {"participants": []})
    response = client.call("POST", f"/webinars/{webinar['id']}/registrants",
                           json={"email": "late@example.com", "first_name": "Late"})
    assert response.status_code == 400
    assert response.json()["code"] == 3038


def test_manual_approval_then_status_updates(client: Client) -> None:
    webinar = client.webinar(approval_type=1)
    path = f"/webinars/{webinar['id']}/registrants"
    ada = client.call("POST", path, json={"email": "ada@example.com", "first_name": "Ada"}).json()
    client.call("POST", path, json={"email": "bob@example.com", "first_name": "Bob"})
    assert client.get(path).json()["total_records"] == 0
    assert client.get(path, params={"status": "pending"}).json()["total_records"] == 2

    response = client.call("PUT", f"{path}/status", json={
        "action": "approve", "registrants": [{"id": ada["registrant_id"]}]})
    assert response.status_code == 204 and response.content == b""
    client.call("PUT", f"{path}/status", json={
        "action": "deny", "registrants": [{"email": "bob@example.com"}]})
    assert [r["email"] for r in client.get(path).json()["registrants"]] == ["ada@example.com"]
    denied = client.get(path, params={"status": "denied"}).json()["registrants"]
    assert [r["email"] for r in denied] == ["bob@example.com"]

    client.call("PUT", f"{path}/status", json={
        "action": "cancel", "registrants": [{"id": ada["registrant_id"]}]})
    assert client.get(path).json()["total_records"] == 0


def test_status_update_refuses_more_than_30_and_unknown_actions(client: Client) -> None:
    webinar = client.webinar()
    path = f"/webinars/{webinar['id']}/registrants/status"
    many = [{"email": f"p{i}@example.com"} for i in range(31)]
    assert client.call("PUT", path, json={"action": "approve", "registrants": many}
                       ).json()["code"] == 300
    assert client.call("PUT", path, json={"action": "promote", "registrants": []}
                       ).status_code == 400


def test_paging_caps_page_size_at_300_and_ends_with_an_empty_token(client: Client) -> None:
    webinar = client.webinar()
    client.register(webinar["id"], *[
        {"email": f"p{i:03}@example.com", "first_name": f"P{i}",
         "create_time": f"2027-01-01T00:{i // 60 % 60:02}:{i % 60:02}Z"}
        for i in range(650)
    ])
    path = f"/webinars/{webinar['id']}/registrants"
    seen: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        body = client.get(path, params={"page_size": 1000, "next_page_token": token}).json()
        assert body["page_size"] == 300
        assert body["total_records"] == 650
        sizes.append(len(body["registrants"]))
        seen += [r["email"] for r in body["registrants"]]
        token = body["next_page_token"]
        if token == "":
            break
    assert sizes == [300, 300, 50]
    assert len(set(seen)) == 650
    assert client.get(path).json()["page_size"] == 30


def test_a_bad_or_foreign_next_page_token_answers_300(client: Client) -> None:
    webinar = client.webinar()
    client.register(webinar["id"], *[{"email": f"p{i}@example.com", "first_name": "P"}
                                     for i in range(5)])
    path = f"/webinars/{webinar['id']}/registrants"
    bad = client.get(path, params={"next_page_token": "made-up"})
    assert bad.status_code == 400
    assert bad.json() == {"code": 300, "message": "The next page token is invalid or expired."}
    token = client.get(path, params={"page_size": 2}).json()["next_page_token"]
    other = client.get(path, params={"page_size": 2, "status": "denied",
                                     "next_page_token": token})
    assert other.status_code == 400
