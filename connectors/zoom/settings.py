"""The settings of a ``type: zoom`` connection, checked once when the connector is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from connectors.retry import RetryPolicy
from connectors.settings import ConnectionSettings, WebAddress, parse_settings
from connectors.zoom.api import MAX_PAGE_SIZE
from connectors.zoom.auth import AppCredentials

SECRET_KEYS = frozenset({"client_secret"})


class ZoomConnection(ConnectionSettings):
    """What a ``type: zoom`` entry of the connections file may say."""

    account_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    #: Whose webinars: ``me`` (the app's account owner), a user id or an email.
    user: str = Field(default="me", min_length=1)
    api_url: WebAddress = "https://api.zoom.us/v2"
    token_url: WebAddress = "https://zoom.us/oauth/token"
    #: Days after its end a webinar's registrants and report are still read.
    recent_days: int = Field(default=7, ge=0, le=365)
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    #: Share of the daily Heavy allowance (reports, absentees) above which no cycle starts.
    api_budget: float = Field(default=0.8, gt=0, le=1)


@dataclass(frozen=True, slots=True)
class ZoomSettings:
    """Checked settings, as the connector uses them; ``app`` holds the secret.

    Made only by :meth:`parse`: the defaults are :class:`ZoomConnection`'s.
    """

    app: AppCredentials
    user: str
    api_url: str
    recent_days: int
    page_size: int
    api_budget: float
    retry: RetryPolicy

    def __repr__(self) -> str:
        return f"<ZoomSettings {self.api_url} user={self.user}>"

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """Which account and user this connection reads (the process cache's key; no secret)."""
        return (self.api_url, self.app.account_id, self.app.client_id, self.user)

    @classmethod
    def parse(cls, name: str, config: Mapping[str, Any]) -> ZoomSettings:
        """Check a connection's settings; anything wrong is a CONFIG error naming the setting."""
        given = parse_settings(ZoomConnection, config, at=(name,))
        return cls(
            app=AppCredentials(given.token_url, given.account_id, given.client_id,
                               given.client_secret),
            user=given.user,
            api_url=given.api_url.rstrip("/"),
            recent_days=given.recent_days,
            page_size=given.page_size,
            api_budget=given.api_budget,
            retry=given.retry.policy(),
        )
