"""HttpClient against strict ``responses`` mocks: classification, retries, auth refresh, hygiene."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
import responses

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import HttpClient, classify_response, parse_retry_after
from connectors.retry import RetryPolicy
from core.redaction import redact

BASE = "https://crm.example.test/api/"


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    # Strict both ways: an unregistered request fails, and so does a registered one never made.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(slept: list[float]) -> Iterator[HttpClient]:
    with HttpClient(BASE, retry=RetryPolicy(max_tries=3, sleep=slept.append)) as http:
        yield http


class TokenAuth:
    """A bearer token that a refresh replaces."""

    def __init__(self) -> None:
        self.token, self.refreshes = "token-1", 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes + 1}"


def test_ok_response_is_returned_with_base_url_and_default_timeout(
    api: responses.RequestsMock, client: HttpClient
) -> None:
    api.get(BASE + "leads/1", json={"Id": "1"})
    assert client.get("/leads/1").json() == {"Id": "1"}
    assert client.api_calls == 1
    assert api.calls[0].request.req_kwargs["timeout"] == (10.0, 120.0)


def test_429_waits_retry_after_then_succeeds(
    api: responses.RequestsMock, client: HttpClient, slept: list[float]
) -> None:
    api.get(BASE + "leads", status=429, headers={"Retry-After": "1"}, json={"error": "slow"})
    api.get(BASE + "leads", json={"value": []})
    assert client.get("leads").json() == {"value": []}
    assert slept == [1.0]
    assert client.api_calls == 2


def test_503_twice_then_200(
    api: responses.RequestsMock, client: HttpClient, slept: list[float]
) -> None:
    api.get(BASE + "leads", status=503)
    api.get(BASE + "leads", status=503)
    api.get(BASE + "leads", json={"ok": True})
    assert client.get("leads").json() == {"ok": True}
    assert len(slept) == 2 and client.api_calls == 3


def test_persistent_503_raises_transient_after_max_tries(
    api: responses.RequestsMock, client: HttpClient, slept: list[float]
) -> None:
    api.get(BASE + "leads", status=503, body="Service Unavailable")
    with pytest.raises(ConnectorError) as info:
        client.get("leads")
    assert info.value.kind is ErrorKind.TRANSIENT and info.value.status == 503
    assert len(api.calls) == 3 and client.api_calls == 3 and len(slept) == 2


def test_401_refreshes_once_and_replays(api: responses.RequestsMock, slept: list[float]) -> None:
    auth = TokenAuth()
    client = HttpClient(BASE, auth=auth, retry=RetryPolicy(sleep=slept.append))
    api.get(BASE + "me", status=401, json=[{"message": "Session expired or invalid",
                                            "errorCode": "INVALID_SESSION_ID"}])
    api.get(BASE + "me", json={"user": "integration"})
    assert client.get("me").json() == {"user": "integration"}
    assert auth.refreshes == 1 and slept == []
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer token-1", "Bearer token-2"]


def test_401_twice_raises_auth(api: responses.RequestsMock) -> None:
    auth = TokenAuth()
    client = HttpClient(BASE, auth=auth)
    api.get(BASE + "me", status=401, json=[{"message": "Session expired or invalid",
                                            "errorCode": "INVALID_SESSION_ID"}])
    with pytest.raises(ConnectorError) as info:
        client.get("me")
    err = info.value
    assert (err.kind, err.code, err.message) == (
        ErrorKind.AUTH, "INVALID_SESSION_ID", "Session expired or invalid")
    assert auth.refreshes == 1 and len(api.calls) == 2


def test_html_error_page_is_transient_without_key_error(
    api: responses.RequestsMock, client: HttpClient
) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    api.get(BASE + "leads", status=500, body=page, content_type="text/html")
    with pytest.raises(ConnectorError) as info:
        client.get("leads")
    assert info.value.kind is ErrorKind.TRANSIENT
    assert info.value.message == "500 Internal Server Error: 502 Bad Gateway"


def test_malformed_json_400_is_validation(
    api: responses.RequestsMock, client: HttpClient
) -> None:
    api.post(BASE + "leads", status=400, body='{"message": "oops', content_type="application/json")
    with pytest.raises(ConnectorError) as info:
        client.post("leads", json={"LastName": "X"})
    assert info.value.kind is ErrorKind.VALIDATION
    assert '{"message": "oops' in info.value.message
    assert len(api.calls) == 1  # not retried


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "message"),
    [
        (400, [{"message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}],
         ErrorKind.VALIDATION, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"),
        (404, {"error": {"code": "0x80040217", "message": "contact Does Not Exist"}},
         ErrorKind.NOT_FOUND, "0x80040217", "contact Does Not Exist"),
        (400, {"error": "invalid_grant", "error_description": "authentication failure"},
         ErrorKind.VALIDATION, "invalid_grant", "authentication failure"),
        (403, {"message": "no"}, ErrorKind.PERMISSION, None, "no"),
        (409, {"message": "busy"}, ErrorKind.CONFLICT, None, "busy"),
        (412, {"error": {"code": "0x80060882", "message": "version mismatch"}},
         ErrorKind.CONFLICT, "0x80060882", "version mismatch"),
        (422, {"error": {"message": "bad"}}, ErrorKind.VALIDATION, None, "bad"),
        (418, {"detail": "teapot"}, ErrorKind.SYSTEM, None, '{"detail": "teapot"}'),
        (400, {"message": None, "error": {"unexpected": []}}, ErrorKind.VALIDATION, None, "400"),
    ],
)
def test_default_classifier(
    api: responses.RequestsMock, client: HttpClient, status: int, body: object,
    kind: ErrorKind, code: str | None, message: str,
) -> None:
    api.get(BASE + "x", status=status, json=body)
    with pytest.raises(ConnectorError) as info:
        client.get("x")
    assert (info.value.kind, info.value.code, info.value.status) == (kind, code, status)
    assert message in info.value.message


def test_connection_errors_are_transient_and_keep_the_url_out(
    api: responses.RequestsMock, client: HttpClient
) -> None:
    for _ in range(3):
        api.get(BASE + "leads", body=requests.ConnectionError("refused: /api/leads?sig=abcd1234"))
    with pytest.raises(ConnectorError) as info:
        client.get("leads", params={"sig": "abcd1234"})
    assert info.value.kind is ErrorKind.TRANSIENT
    assert "abcd1234" not in str(info.value) and "ConnectionError" in info.value.message


def test_timeouts_are_transient(api: responses.RequestsMock, slept: list[float]) -> None:
    client = HttpClient(BASE, retry=RetryPolicy(max_tries=1, sleep=slept.append))
    api.get(BASE + "slow", body=requests.ReadTimeout())
    with pytest.raises(ConnectorError) as info:
        client.get("slow")
    assert info.value.kind is ErrorKind.TRANSIENT


def test_secrets_in_url_or_body_never_reach_the_message(
    api: responses.RequestsMock, client: HttpClient
) -> None:
    secret = "sk-live-2f9a77c1e0"
    redact.add([secret])
    # A server that echoes the request, secret included, in its error message.
    api.post(BASE + "leads", status=400,
             json=[{"message": f"bad request: key={secret}", "errorCode": "INVALID_FIELD"}])
    with pytest.raises(ConnectorError) as info:
        client.post(f"leads?key={secret}", json={"api_key": secret})
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert "key=***" in info.value.message


def test_plain_http_only_to_loopback() -> None:
    for url in ("http://127.0.0.1:8080", "http://localhost:5000/", "http://[::1]:9/x"):
        HttpClient(url).close()
    for url in ("http://crm.example.com", "ftp://127.0.0.1", "crm.example.com"):
        with pytest.raises(ConnectorError) as info:
            HttpClient(url)
        assert info.value.kind is ErrorKind.CONFIG
    client = HttpClient(BASE)
    with pytest.raises(ConnectorError) as info:
        client.get("http://elsewhere.example.com/next?token=abcd")
    assert info.value.kind is ErrorKind.CONFIG and "abcd" not in info.value.message


def test_absolute_next_page_urls_are_followed(
    api: responses.RequestsMock, client: HttpClient
) -> None:
    api.get("https://crm.example.test/api/leads?page=2", json={"page": 2})
    assert client.get("https://crm.example.test/api/leads?page=2").json() == {"page": 2}


def test_on_response_sees_every_response(api: responses.RequestsMock, slept: list[float]) -> None:
    seen: list[int] = []
    client = HttpClient(BASE, retry=RetryPolicy(sleep=slept.append),
                        on_response=lambda r: seen.append(r.status_code))
    api.get(BASE + "limits", status=503)
    api.get(BASE + "limits", json={}, headers={"Sforce-Limit-Info": "api-usage=18/15000"})
    client.get("limits")
    assert seen == [503, 200]


def test_custom_classifier_and_retry_after_date(
    api: responses.RequestsMock, slept: list[float]
) -> None:
    def classify(response: requests.Response) -> ConnectorError:
        error = classify_response(response)
        if error.code == "UNABLE_TO_LOCK_ROW":
            error.kind = ErrorKind.TRANSIENT
        return error

    client = HttpClient(BASE, classify=classify, retry=RetryPolicy(sleep=slept.append))
    api.patch(BASE + "leads/1", status=400, json=[{"message": "unable to obtain exclusive access",
                                                   "errorCode": "UNABLE_TO_LOCK_ROW"}])
    api.patch(BASE + "leads/1", status=204)
    assert client.patch("leads/1", json={"Title": "CTO"}).status_code == 204
    assert len(slept) == 1


def test_parse_retry_after() -> None:
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_only_read_for_429_and_503(
    api: responses.RequestsMock, client: HttpClient, slept: list[float]
) -> None:
    api.get(BASE + "x", status=500, headers={"Retry-After": "7"})
    api.get(BASE + "x", status=503, headers={"Retry-After": "7"})
    api.get(BASE + "x", json={})
    client.get("x")
    assert slept[0] != 7.0 and slept[1] == 7.0
