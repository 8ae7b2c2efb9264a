"""Every remote call of the Salesforce connector: counted, retried, re-authenticated, classified.

simple-salesforce sends the requests; this module adds what it lacks: our own token and one
refresh on an expired session, retries with backoff (5xx, UNABLE_TO_LOCK_ROW), one error
vocabulary, and the API usage from the ``Sforce-Limit-Info`` header of every response.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.util import call_salesforce

from connectors.base import ApiUsage
from connectors.errors import ConnectorError, ErrorKind
from connectors.http import DEFAULT_TIMEOUT, parse_retry_after
from connectors.retry import RetryPolicy, call_with_retry
from connectors.salesforce.auth import Credentials, Token, fetch_token
from connectors.salesforce.errors import rest_error
from core import shutdown

T = TypeVar("T")

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
#: How long to wait after the *daily* limit is spent: it frees over a rolling 24 hours, so
#: the engine should park the job, not retry in seconds.
DAILY_LIMIT_WAIT_SECONDS = 3600.0


class HttpsToHttpAdapter(HTTPAdapter):
    """Sends simple-salesforce's ``https://`` URLs for a loopback sandbox as ``http://``.

    simple-salesforce builds every URL as ``https://<instance host>/...`` whatever scheme the
    instance URL had; this adapter is mounted for the sandbox's host and port only, so nothing
    else is ever downgraded.
    """

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://"):]
        return super().send(request, *args, **kwargs)


class _NoRetryError(Exception):
    """Carries an error past ``call_with_retry`` that must not be retried in seconds."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(str(error))
        self.error = error


class Transport:
    """A logged-in simple-salesforce client and the one ``call()`` every request goes through."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_version: str,
        retry: RetryPolicy,
        on_call: Callable[[], None],
        session: requests.Session | None = None,
    ) -> None:
        self.credentials = credentials
        self.api_version = api_version
        self.retry = retry
        self._on_call = on_call
        self._own_session = session is None
        self.session = session or requests.Session()
        self.session.hooks["response"].append(self._observe)
        self.token: Token | None = None
        self._sf: Salesforce | None = None
        self._mounted: set[str] = set()
        self.last_usage: ApiUsage | None = None
        #: The server's clock (``Date`` header) at the last response, for write versions.
        self.server_time: datetime | None = None
        self._retry_after: float | None = None

    # -- session ----------------------------------------------------------------------------

    @property
    def instance_url(self) -> str:
        """The org's instance URL (logs in first if needed)."""
        self.client()
        assert self.token is not None
        return self.token.instance_url

    def client(self) -> Salesforce:
        """The simple-salesforce client, logging in on first use."""
        if self._sf is None:
            self.login()
        assert self._sf is not None
        return self._sf

    def login(self) -> None:
        """Fetch a token and build the client on it; transient failures are retried."""
        token = call_with_retry(self._fetch_token, self.retry)
        self.token = token
        self._mount_for(token.instance_url)
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.session,
            version=self.api_version,
            object_pairs_hook=dict,
        )

    def _fetch_token(self) -> Token:
        # Not counted in api_calls: token requests do not use the org's API allowance, and
        # api_calls reports what a run cost against it.
        return fetch_token(self.credentials, self.session)

    def _mount_for(self, instance_url: str) -> None:
        parts = urlsplit(instance_url)
        if parts.scheme != "http":
            return
        # check_url (in fetch_token) already refused http:// for anything but loopback.
        prefix = f"https://{parts.netloc}/"
        if prefix not in self._mounted:
            self.session.mount(prefix, HttpsToHttpAdapter())
            self._mounted.add(prefix)

    def close(self) -> None:
        """Close the HTTP session if this transport opened it; safe to call twice."""
        self._sf = None
        if self._own_session:
            self.session.close()

    # -- calls ------------------------------------------------------------------------------

    def call(self, fn: Callable[[Salesforce], T]) -> T:
        """Run one remote call with retries and at most one token refresh; classify failures."""
        refreshed = False

        def attempt() -> T:
            nonlocal refreshed
            try:
                return self._attempt(fn)
            except ConnectorError as exc:
                if exc.code != "INVALID_SESSION_ID" or refreshed:
                    raise
            # Tokens expire mid-run: one refresh per call, so bad credentials fail fast.
            refreshed = True
            self.login()
            return self._attempt(fn)

        try:
            return call_with_retry(attempt, self.retry)
        except _NoRetryError as stop:
            raise stop.error from None

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One REST request under ``/services/data/vXX.X/`` returning the response (CSV bodies)."""

        def send(sf: Salesforce) -> requests.Response:
            headers = dict(sf.headers)
            headers.update(kwargs.pop("headers", None) or {})
            kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
            return call_salesforce(sf.base_url + path, method, sf.session, headers, **kwargs)

        return self.call(send)

    def _attempt(self, fn: Callable[[Salesforce], T]) -> T:
        shutdown.checkpoint()  # a safe point: nothing of this call has left yet
        sf = self.client()
        self._on_call()
        self._retry_after = None
        try:
            return fn(sf)
        except SalesforceError as exc:
            raise self._classify(exc) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            # requests' own text repeats the URL with its query string: keep only the host.
            host = urlsplit(sf.base_url).hostname
            raise ConnectorError(
                ErrorKind.TRANSIENT, f"{type(exc).__name__} talking to {host}"
            ) from None

    def _classify(self, exc: SalesforceError) -> ConnectorError | _NoRetryError:
        error = rest_error(exc.status, exc.content)
        if exc.status == 401:
            error.kind = ErrorKind.AUTH
            error.code = error.code or "INVALID_SESSION_ID"
            return error
        if exc.status in (429, 503) and self._retry_after is not None:
            error.retry_after = self._retry_after
        daily = exc.status == 403 and error.code == "REQUEST_LIMIT_EXCEEDED"
        if daily and "concurrent" not in error.message.lower():
            # The daily allowance frees over a rolling 24 hours: retrying in seconds only
            # burns the retry budget. The concurrency limit (ConcurrentPerOrgLongTxn) does free
            # quickly, so it keeps the normal backoff.
            usage = self.last_usage
            spent = f" ({usage.used}/{usage.limit} calls used)" if usage else ""
            error.message = f"{error.message} Salesforce's daily API limit is spent{spent}."
            error.args = (error.message,)
            error.retry_after = DAILY_LIMIT_WAIT_SECONDS
            return _NoRetryError(error)
        return error

    # -- what every response tells us -------------------------------------------------------

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            match = _LIMIT_INFO.search(info)
            if match:
                self.last_usage = ApiUsage(int(match.group(1)), int(match.group(2)))
        date = response.headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                self.server_time = parsedate_to_datetime(date)
        if response.status_code in (429, 503):
            self._retry_after = parse_retry_after(response.headers.get("Retry-After"))

    def record_limits(self, limits: dict[str, Any]) -> None:
        """Take the usage from a ``/limits`` body (``DailyApiRequests``: Max, Remaining)."""
        daily = limits.get("DailyApiRequests")
        if isinstance(daily, dict) and isinstance(daily.get("Max"), int):
            remaining = daily.get("Remaining")
            if isinstance(remaining, int):
                self.last_usage = ApiUsage(daily["Max"] - remaining, daily["Max"])
