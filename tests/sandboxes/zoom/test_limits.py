"""Rate limits (per second per category, daily Heavy) and injected faults, as a client sees them."""

from __future__ import annotations

from tests.sandboxes.zoom.conftest import Client, Clock


def test_per_second_limit_answers_429_with_zoom_headers(client: Client, clock: Clock) -> None:
    webinar = client.webinar()
    client.control("POST", "/limits", {"medium": 2})
    path = f"/webinars/{webinar['id']}/registrants"
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": "You have reached the maximum per-second "
                              "rate limit for this API. Try again later."}
    assert refused.headers["X-RateLimit-Category"] == "Medium"
    assert refused.headers["X-RateLimit-Type"] == "QPS"
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # Light calls have their own allowance in the same second.
    assert client.get(f"/webinars/{webinar['id']}").status_code == 200
    clock.now += 1
    assert client.get(path).status_code == 200


def test_daily_heavy_limit_answers_429_until_midnight_utc(client: Client, clock: Clock) -> None:
    webinar = client.webinar()
    client.control("POST", f"/webinars/{webinar['id']}/end", {"participants": []})
    client.control("POST", "/limits", {"daily": 3})
    path = f"/report/webinars/{webinar['id']}/participants"
    remaining = []
    for _ in range(3):
        clock.now += 1  # stay clear of the per-second limit
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Category"] == "Heavy"
        assert response.headers["X-RateLimit-Limit"] == "3"
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    clock.now += 1
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused.json()["code"] == 429
    assert refused.headers["X-RateLimit-Type"] == "Daily-limit"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"].endswith("T00:00:00Z")
    # Light and Medium calls do not count against the daily Heavy allowance.
    assert client.get(f"/webinars/{webinar['id']}").status_code == 200
    clock.now += 86_400
    client.token = client.fetch_token().json()["access_token"]  # a day later: a new token
    assert client.get(path).status_code == 200


def test_business_plan_has_higher_per_second_limits(client: Client) -> None:
    state = client.control("POST", "/limits", {"plan": "business"})
    assert state["per_second"] == {"Light": 80, "Medium": 60, "Heavy": 40}
    assert state["daily_limit"] == 60_000


def test_injected_faults_answer_as_zoom_would(client: Client) -> None:
    client.control("POST", "/faults", {"inject": [
        {"kind": "rate_limited"}, {"kind": "transient"}, {"kind": "auth_expired"}]})
    throttled = client.get("/users/me/webinars")
    assert throttled.status_code == 429
    assert throttled.headers["X-RateLimit-Type"] == "QPS"
    assert client.get("/users/me/webinars").status_code == 503
    expired = client.get("/users/me/webinars")
    assert expired.status_code == 401 and expired.json()["code"] == 124
    assert client.get("/users/me/webinars").status_code == 200


def test_random_5xx_rate_and_control_routes_are_spared(client: Client) -> None:
    client.control("POST", "/faults", {"rate_503": 1})
    assert client.get("/users/me/webinars").status_code == 503
    # The host's controls and the token endpoint never suffer faults.
    assert client.webinar()["id"]
    assert client.fetch_token().status_code == 200
    client.control("POST", "/faults", {"clear": True})
    assert client.get("/users/me/webinars").status_code == 200
