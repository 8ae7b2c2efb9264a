"""Server-to-Server OAuth and what the API answers to missing, bad, expired or narrow tokens."""

from __future__ import annotations

import base64

import requests

from tests.sandboxes.zoom.conftest import Client, Clock


def test_account_credentials_grant_answers_a_bearer_token(client: Client) -> None:
    response = client.fetch_token()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert "webinar:read:admin" in body["scope"].split()
    assert client.get("/users/me/webinars", token=body["access_token"]).status_code == 200


def test_grant_in_a_form_body_is_accepted_too(client: Client) -> None:
    response = requests.post(
        client.sandbox.token_url,
        data={"grant_type": "account_credentials", "account_id": client.sandbox.account_id},
        headers={"Authorization": client.sandbox.basic_auth()}, timeout=10,
    )
    assert response.status_code == 200


def test_bad_secret_is_refused_as_invalid_client(client: Client) -> None:
    wrong = base64.b64encode(f"{client.sandbox.client_id}:nope".encode()).decode()
    response = client.fetch_token(authorization=f"Basic {wrong}")
    assert response.status_code == 401
    assert response.json() == {"reason": "Invalid client_id or client_secret",
                               "error": "invalid_client"}
    assert client.fetch_token(authorization="").status_code == 401


def test_wrong_grant_type_and_account_are_refused(client: Client) -> None:
    response = client.fetch_token(grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert client.fetch_token(account_id="someone-else").status_code == 400


def test_missing_or_unknown_token_answers_124(client: Client) -> None:
    response = requests.get(client.sandbox.api_url + "/users/me/webinars", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Invalid access token."}
    response = client.get("/users/me/webinars", token="not-a-token")
    assert response.json() == {"code": 124, "message": "Invalid access token."}


def test_expired_token_answers_124_and_a_new_token_works(client: Client, clock: Clock) -> None:
    clock.now += 3600
    response = client.get("/users/me/webinars")
    assert response.status_code == 401
    assert response.json()["code"] == 124
    fresh = client.fetch_token().json()["access_token"]
    assert client.get("/users/me/webinars", token=fresh).status_code == 200


def test_expire_tokens_control_invalidates_every_token(client: Client) -> None:
    client.control("POST", "/expire-tokens")
    response = client.get("/users/me/webinars")
    assert response.status_code == 401
    assert response.json()["code"] == 124


def test_token_without_a_scope_is_refused_with_the_scopes_it_needs(client: Client) -> None:
    webinar = client.webinar()
    client.control("POST", "/scopes", {"scopes": ["webinar:read:admin"]})
    narrow = client.fetch_token().json()
    assert narrow["scope"] == "webinar:read:admin"
    token = narrow["access_token"]
    assert client.get(f"/webinars/{webinar['id']}", token=token).status_code == 200
    report = client.get(f"/report/webinars/{webinar['id']}/participants", token=token)
    assert report.status_code == 400
    assert report.json()["code"] == 4711
    assert "report:read:admin" in report.json()["message"]
    post = client.call("POST", f"/webinars/{webinar['id']}/registrants", token=token,
                       json={"email": "a@example.com", "first_name": "A"})
    assert post.json()["code"] == 4711
    assert "webinar:write" in post.json()["message"]
