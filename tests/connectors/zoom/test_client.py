"""The Zoom client: S2S tokens, paging, the error table and id encoding, as Zoom answers them.

``responses`` plays Zoom with the bodies and headers its documentation shows; the last tests
run the same client against the Zoom sandbox over HTTP.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import HttpClient
from connectors.retry import RetryPolicy
from connectors.zoom.api import ZoomApi, path_id
from connectors.zoom.auth import AppCredentials, ZoomTokenAuth
from connectors.zoom.errors import classify_zoom
from sandboxes.zoom.sandbox import ZoomSandbox

API = "https://api.zoom.us/v2"
TOKEN_URL = "https://zoom.us/oauth/token"
APP = AppCredentials(TOKEN_URL, "acct_1", "client_1", "secret_1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(app: AppCredentials = APP, api: str = API,
           clock: Clock | None = None) -> tuple[ZoomApi, ZoomTokenAuth, list[float]]:
    session = requests.Session()
    auth = ZoomTokenAuth(app, session, clock=clock or Clock())
    slept: list[float] = []
    http = HttpClient(api, auth=auth, classify=classify_zoom, session=session,
                      retry=RetryPolicy(max_tries=3, sleep=slept.append))
    return ZoomApi(http), auth, slept


def token_reply(token: str = "tok_1") -> responses.Response:
    return responses.Response(responses.POST, TOKEN_URL, json={
        "access_token": token, "token_type": "bearer", "expires_in": 3599,
        "scope": "webinar:read:admin"})


@pytest.fixture
def zoom() -> Iterator[responses.RequestsMock]:
    # A refused call is not retried, a 5xx is: the error table registers enough answers for
    # either, so unused ones are no failure.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_the_token_is_asked_for_with_basic_auth_and_reused_until_near_expiry(
    zoom: responses.RequestsMock,
) -> None:
    clock = Clock()
    api, auth, _ = client(clock=clock)
    zoom.add(token_reply("tok_1"))
    zoom.add(token_reply("tok_2"))
    zoom.add(responses.GET, f"{API}/webinars/1", json={"id": 1})

    api.webinar(1)
    api.webinar(1)
    clock.now += 3599 - 119  # inside the refresh margin: a new token first
    api.webinar(1)

    token_calls = [c for c in zoom.calls if c.request.url.startswith(TOKEN_URL)]
    assert len(token_calls) == 2
    first = token_calls[0].request
    assert parse_qs(urlsplit(first.url).query) == {"grant_type": ["account_credentials"],
                                                   "account_id": ["acct_1"]}
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(
        b"client_1:secret_1").decode()
    api_calls = [c.request for c in zoom.calls if c.request.url.startswith(API)]
    assert [r.headers["Authorization"] for r in api_calls] == [
        "Bearer tok_1", "Bearer tok_1", "Bearer tok_2"]


def test_a_124_fetches_one_new_token_and_replays_the_call(zoom: responses.RequestsMock) -> None:
    api, auth, _ = client()
    zoom.add(token_reply("old"))
    zoom.add(responses.GET, f"{API}/webinars/1", status=401,
             json={"code": 124, "message": "Invalid access token."})
    zoom.add(token_reply("new"))
    zoom.add(responses.GET, f"{API}/webinars/1", json={"id": 1, "topic": "Launch"})

    assert api.webinar(1)["topic"] == "Launch"
    assert auth.token_calls == 2


def test_refused_credentials_are_auth_errors_in_zoom_words(zoom: responses.RequestsMock) -> None:
    api, _, _ = client()
    zoom.add(responses.POST, TOKEN_URL, status=401,
             json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"})

    with pytest.raises(ConnectorError) as caught:
        api.webinar(1)

    error = caught.value
    assert (error.kind, error.code, error.message) == (
        ErrorKind.AUTH, "invalid_client", "Invalid client_id or client_secret")
    assert error.hint == "check client_id and client_secret"
    assert "secret_1" not in str(error)


def test_listings_follow_next_page_token_at_300_a_page(zoom: responses.RequestsMock) -> None:
    api, _, _ = client()
    zoom.add(token_reply())
    url = f"{API}/webinars/9/registrants"
    zoom.add(responses.GET, url, json={"next_page_token": "p2", "page_size": 300,
                                       "registrants": [{"id": "a"}, {"id": "b"}]})
    zoom.add(responses.GET, url, json={"next_page_token": "", "page_size": 300,
                                       "registrants": [{"id": "c"}]})

    assert [r["id"] for r in api.registrants(9)] == ["a", "b", "c"]
    queries = [parse_qs(urlsplit(c.request.url).query) for c in zoom.calls
               if c.request.url.startswith(url)]
    assert queries == [
        {"status": ["approved"], "page_size": ["300"]},
        {"status": ["approved"], "page_size": ["300"], "next_page_token": ["p2"]},
    ]


@pytest.mark.parametrize(("status", "body", "kind", "code"), [
    (404, {"code": 3001, "message": 'Webinar "9" not found or has expired'},
     ErrorKind.NOT_FOUND, "3001"),
    (400, {"code": 4711, "message": "Invalid access token, does not contain scopes:[x]."},
     ErrorKind.PERMISSION, "4711"),
    (400, {"code": 300, "message": "Validation Failed."}, ErrorKind.VALIDATION, "300"),
    (400, {"code": 3038, "message": "Webinar is over."}, ErrorKind.VALIDATION, "3038"),
    (500, {"code": 500, "message": "Internal error"}, ErrorKind.TRANSIENT, "500"),
])
def test_the_error_table(zoom: responses.RequestsMock, status: int, body: dict,
                         kind: ErrorKind, code: str) -> None:
    api, _, _ = client()
    zoom.add(token_reply())
    zoom.add(responses.GET, f"{API}/webinars/9", status=status, json=body)
    zoom.add(responses.GET, f"{API}/webinars/9", status=status, json=body)
    zoom.add(responses.GET, f"{API}/webinars/9", status=status, json=body)

    with pytest.raises(ConnectorError) as caught:
        api.webinar(9)

    assert (caught.value.kind, caught.value.code, caught.value.message) == (
        kind, code, body["message"])


def test_a_per_second_429_waits_a_second_and_the_daily_limit_until_it_resets(
    zoom: responses.RequestsMock,
) -> None:
    api, _, slept = client()
    zoom.add(token_reply())
    zoom.add(responses.GET, f"{API}/webinars/9", status=429,
             json={"code": 429, "message": "You have reached the maximum per-second rate limit "
                   "for this API. Try again later."},
             headers={"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS"})
    zoom.add(responses.GET, f"{API}/webinars/9", json={"id": 9})
    assert api.webinar(9) == {"id": 9}
    assert slept == [1.0]

    zoom.add(responses.GET, f"{API}/webinars/8", status=429,
             json={"code": 429, "message": "You have exceeded the daily rate limit"},
             headers={"X-RateLimit-Type": "Daily-limit", "Retry-After": "3600"})
    with pytest.raises(ConnectorError) as caught:
        api.http.retry = RetryPolicy(max_tries=1)
        api.webinar(8)
    assert (caught.value.kind, caught.value.retry_after) == (ErrorKind.RATE_LIMITED, 3600.0)
    assert caught.value.hint is not None and "daily limit" in caught.value.hint


def test_uuids_zoom_wants_twice_encoded() -> None:
    assert path_id(123) == "123"
    assert path_id("4444AAAiAAAAAiAiAiiAii==") == "4444AAAiAAAAAiAiAiiAii%3D%3D"
    assert path_id("/ajXp112QmuoKj4854875==") == "%252FajXp112QmuoKj4854875%253D%253D"
    assert path_id("ab//cd==") == "ab%252F%252Fcd%253D%253D"


def test_the_client_against_the_zoom_sandbox() -> None:
    with ZoomSandbox() as sandbox:
        control = f"{sandbox.url}/__sandbox__"
        made = requests.post(f"{control}/webinars", json={"topic": "Pipeline Math 101"},
                             timeout=10).json()
        people = [{"email": f"p{n}@acme.com", "first_name": "P", "last_name": str(n)}
                  for n in range(650)]
        requests.post(f"{control}/webinars/{made['id']}/registrants",
                      json={"registrants": people}, timeout=10).raise_for_status()
        app = AppCredentials(sandbox.token_url, sandbox.account_id, sandbox.client_id,
                             sandbox.client_secret)
        api, auth, _ = client(app, sandbox.api_url)

        assert [w["topic"] for w in api.webinars()] == ["Pipeline Math 101"]
        assert len(list(api.registrants(made["id"]))) == 650
        assert (auth.token_calls, api.http.api_calls) == (1, 1 + 3)  # 650 registrants / 300
        assert api.participants(made["id"]) is None, "no report before the webinar ends"
        added = api.add_registrant(made["id"], {"email": "new@acme.com", "first_name": "N",
                                                "last_name": "Ew"})
        assert added["registrant_id"] and added["join_url"]
        requests.post(f"{control}/webinars/{made['id']}/end", json={"participants": [
            {"email": "new@acme.com", "join_time": made["start_time"],
             "leave_time": made["start_time"]}]}, timeout=10).raise_for_status()
        rows = api.participants(made["id"])
        assert rows is not None and [r["user_email"] for r in rows] == ["new@acme.com"]
        assert rows[0]["registrant_id"] == added["registrant_id"]
