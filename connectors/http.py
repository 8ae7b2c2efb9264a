"""A thin requests client for HTTP connectors: errors classified, retries, one auth refresh."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, Self
from urllib.parse import urljoin, urlsplit

import requests

from connectors.errors import ConnectorError, ErrorKind
from connectors.retry import RetryPolicy, call_with_retry
from core import shutdown
from core.redaction import redact, redacted_excerpt

#: (connect, read) seconds: connecting is quick or broken; a big query may take minutes.
DEFAULT_TIMEOUT = (10.0, 120.0)

#: Status → kind for the default classifier; connectors refine it with their own codes.
STATUS_KINDS: dict[int, ErrorKind] = {
    400: ErrorKind.VALIDATION,
    401: ErrorKind.AUTH,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TRANSIENT,  # request timeout: the server gave up waiting, try again
    409: ErrorKind.CONFLICT,
    410: ErrorKind.NOT_FOUND,
    412: ErrorKind.CONFLICT,  # If-Match etag mismatch
    422: ErrorKind.VALIDATION,
    429: ErrorKind.RATE_LIMITED,
}

_LOOPBACK_NAMES = {"localhost"}
_MAX_MESSAGE = 500


class Auth(Protocol):
    """What the client needs from a connector's credentials."""

    def headers(self) -> dict[str, str]:
        """Headers carrying the current credentials (``Authorization: Bearer ...``)."""
        ...

    def refresh(self) -> None:
        """Fetch new credentials after the server said the current ones expired."""
        ...


#: Turns a non-2xx response into a ConnectorError in the shared vocabulary.
Classifier = Callable[[requests.Response], ConnectorError]


def is_loopback(host: str | None) -> bool:
    """Tell whether ``host`` is 127.0.0.1, ::1 or localhost: the only hosts http:// may reach."""
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Refuse anything but https://, except http:// to a local sandbox (CONFIG)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    # Only scheme and host in the message: a URL may carry a token in its query string.
    shown = f"{parts.scheme}://{parts.hostname}" if parts.scheme else "a relative URL"
    raise ConnectorError(
        ErrorKind.CONFIG,
        f"refusing {shown}: only https:// URLs are allowed (http:// only for localhost)",
        hint="use the https:// address of the instance",
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP-date; None if absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _first_dict(payload: Any) -> Mapping[str, Any] | None:
    # Salesforce answers with a list of errors, Dataverse with {"error": {...}}.
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, Mapping):
        return None
    nested = payload.get("error")
    if isinstance(nested, Mapping):
        return nested
    return payload


def error_details(response: requests.Response) -> tuple[str, str | None]:
    """Get the remote's own message and error code from any error body, never raising.

    Understands Salesforce (``[{"message", "errorCode"}]``), OData (``{"error": {"code",
    "message"}}``) and OAuth (``{"error", "error_description"}``) shapes; falls back to the
    text, or to the status line for HTML pages.
    """
    status_line = f"{response.status_code} {response.reason or ''}".strip()
    try:
        payload = json.loads(response.text) if response.text else None
    except ValueError:
        payload = None
    body = _first_dict(payload)
    if body is not None:
        message = body.get("message") or body.get("error_description") or body.get("error")
        code = body.get("errorCode") or body.get("code")
        if isinstance(body.get("error"), str) and not body.get("errorCode"):
            code = code or body["error"]  # OAuth: "invalid_grant" is the code
        if message is not None:
            return _clip(str(message)), str(code) if code is not None else None
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type or response.text.lstrip().startswith("<"):
        # A proxy's error page: its markup is noise, its <title> sometimes says something.
        title = re.search(r"<title>(.*?)</title>", response.text, re.IGNORECASE | re.DOTALL)
        return (f"{status_line}: {_clip(title.group(1).strip())}" if title else status_line), None
    text = response.text.strip()
    return (f"{status_line}: {_clip(text)}" if text else status_line), None


def _clip(text: str) -> str:
    return redacted_excerpt(text, _MAX_MESSAGE)


def classify_response(response: requests.Response) -> ConnectorError:
    """Default classifier: the status decides the kind, the body gives message and code."""
    status = response.status_code
    kind = ErrorKind.TRANSIENT if status >= 500 else STATUS_KINDS.get(status, ErrorKind.SYSTEM)
    message, code = error_details(response)
    return ConnectorError(kind, message, code=code, status=status)


class HttpClient:
    """A ``requests.Session`` with a base URL, classified errors, retries and auth refresh.

    Every request is counted in ``api_calls`` (retries and refreshes included). Non-2xx answers
    become ConnectorErrors through ``classify``; TRANSIENT and RATE_LIMITED ones are retried
    per ``retry``; an AUTH answer makes the client call ``auth.refresh()`` once and replay.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        classify: Classifier = classify_response,
        retry: RetryPolicy | None = None,
        on_response: Callable[[requests.Response], None] | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        check_url(base_url)
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.classify = classify
        self.retry = retry or RetryPolicy()
        self.on_response = on_response
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._own_session = session is None
        self.session = session or requests.Session()
        self.api_calls = 0

    def url(self, path_or_url: str) -> str:
        """Resolve a path against the base URL; absolute URLs (next-page links) pass checked."""
        if urlsplit(path_or_url).scheme:
            check_url(path_or_url)
            return path_or_url
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        """Send one request with retries; return the 2xx response or raise ConnectorError."""
        url = self.url(path_or_url)
        refreshed = False

        def attempt() -> requests.Response:
            nonlocal refreshed
            try:
                return self._send(method, url, kwargs)
            except ConnectorError as exc:
                if exc.kind is not ErrorKind.AUTH or self.auth is None or refreshed:
                    raise
            # Tokens expire mid-run; one refresh per request, so bad credentials fail fast.
            refreshed = True
            self.auth.refresh()
            return self._send(method, url, kwargs)

        return call_with_retry(attempt, self.retry)

    def get(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        """``request("GET", ...)``."""
        return self.request("GET", path_or_url, **kwargs)

    def post(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        """``request("POST", ...)``."""
        return self.request("POST", path_or_url, **kwargs)

    def patch(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        """``request("PATCH", ...)``."""
        return self.request("PATCH", path_or_url, **kwargs)

    def delete(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        """``request("DELETE", ...)``."""
        return self.request("DELETE", path_or_url, **kwargs)

    def _send(self, method: str, url: str, kwargs: Mapping[str, Any]) -> requests.Response:
        options = dict(kwargs)
        headers = {**self.headers, **(self.auth.headers() if self.auth else {})}
        headers.update(options.pop("headers", None) or {})
        options.setdefault("timeout", self.timeout)
        shutdown.checkpoint()  # a safe point: nothing of this call has left yet
        self.api_calls += 1
        try:
            response = self.session.request(method, url, headers=headers, **options)
        except (requests.ConnectionError, requests.Timeout) as exc:
            # requests' own text repeats the full URL (query string included): leave it out.
            path = urlsplit(url).path
            raise ConnectorError(
                ErrorKind.TRANSIENT,
                f"{method} {path}: {type(exc).__name__} talking to {urlsplit(url).hostname}",
            ) from None
        if self.on_response is not None:
            self.on_response(response)
        if 200 <= response.status_code < 300:
            return response
        raise self._error(response)

    def _error(self, response: requests.Response) -> ConnectorError:
        error = self.classify(response)
        if error.status is None:
            error.status = response.status_code
        if error.retry_after is None and response.status_code in (429, 503):
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        error.message = redact(error.message)
        error.args = (error.message,)
        if error.hint:
            error.hint = redact(error.hint)
        return error

    def close(self) -> None:
        """Close the session if this client opened it; safe to call twice."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HttpClient {urlsplit(self.base_url).hostname}>"
