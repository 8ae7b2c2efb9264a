"""The client, call count and retry policy of a connector whose calls all use one HttpClient."""

from __future__ import annotations

from typing import Generic, TypeVar

from connectors.base import Connector
from connectors.http import HttpClient
from connectors.retry import RetryPolicy

H = TypeVar("H", bound=HttpClient)


class HttpConnector(Connector, Generic[H]):
    """A connector over one :class:`HttpClient` (``self._http``, made in its ``__init__``)."""

    #: None until the subclass has checked its settings and built the client.
    _http: H | None = None

    @property
    def http(self) -> H:
        """The API client."""
        assert self._http is not None
        return self._http

    @property
    def api_calls(self) -> int:  # type: ignore[override]
        """API requests made (retries included; token requests are not)."""
        return self._http.api_calls if self._http is not None else 0

    @api_calls.setter
    def api_calls(self, value: int) -> None:
        if self._http is not None:
            self._http.api_calls = value

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every call (tests replace it to record waits instead of sleeping)."""
        return self.http.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.http.retry = policy
