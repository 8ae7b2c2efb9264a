"""The settings of a ``type: salesforce`` connection, checked once when the connector is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from connectors.retry import RetryPolicy
from connectors.salesforce.auth import Credentials, Grant
from connectors.settings import (
    ConnectionSettings,
    OptionalWebAddress,
    WebAddress,
    parse_settings,
    version_text,
)

SECRET_KEYS = frozenset({"client_secret", "password", "security_token", "private_key"})

#: Salesforce's limits: query pages of 200..2000 rows, 200 records per Collections call.
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 200, 2000
MAX_COLLECTION_SIZE = 200


def _recent_enough(version: str) -> str:
    if float(version) < 46.0:
        # Collections upsert, and the "created" flag that tells an upsert's create from its
        # update, arrived in API 46.0.
        raise ValueError("must be 46.0 or later")
    return version


#: The response statuses of the shipped campaign member mapping (programs.yaml success ones).
RESPONDED_STATUSES = ("Responded", "Attended", "Clicked", "Filled-out Form", "Downloaded",
                      "Meeting Held")


class SalesforceConnection(ConnectionSettings):
    """What a ``type: salesforce`` entry of the connections file may say."""

    login_url: WebAddress = Field(
        description="https://login.salesforce.com, https://test.salesforce.com or your My Domain"
    )
    auth: Annotated[Grant, Field(strict=False)] = Grant.PASSWORD
    client_id: str | None = None
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    private_key: str | None = None
    api_version: Annotated[
        str, BeforeValidator(version_text("59.0")), AfterValidator(_recent_enough)
    ] = "59.0"
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=MIN_PAGE_SIZE, le=MAX_PAGE_SIZE)
    max_batch_size: int = Field(default=MAX_COLLECTION_SIZE, ge=1, le=MAX_COLLECTION_SIZE)
    bulk_threshold: int = Field(default=2000, ge=1)
    bulk_poll_seconds: float = Field(default=2.0, ge=0)
    #: Share of the daily API allowance above which no cycle starts.
    api_budget: float = Field(default=0.8, gt=0, le=1)
    #: Where the org's pages are, when login_url is not the org's own My Domain.
    ui_url: OptionalWebAddress = None
    #: Campaign member statuses that count as a response: a label Syncline creates on a
    #: campaign (the member write needs it) gets ``HasResponded`` when it is one of these, so
    #: an attendee is a responder in Salesforce's own reports and Campaign Influence.
    responded_statuses: list[str] = Field(default_factory=lambda: list(RESPONDED_STATUSES))

    @model_validator(mode="after")
    def _grant_has_its_credentials(self) -> Self:
        missing = self.credentials("").missing()
        if missing:
            raise ValueError(f"auth '{self.auth}' needs {', '.join(missing)}")
        return self

    def credentials(self, login_url: str) -> Credentials:
        """The token request's inputs (secrets included) for ``login_url``."""
        return Credentials(
            login_url=login_url, grant=self.auth, client_id=self.client_id,
            client_secret=self.client_secret, username=self.username, password=self.password,
            security_token=self.security_token, private_key=self.private_key,
        )


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    """Checked settings, as the connector uses them; ``credentials`` holds the secrets.

    Made only by :meth:`parse`: the defaults are :class:`SalesforceConnection`'s.
    """

    credentials: Credentials
    api_version: str
    page_size: int
    max_batch_size: int
    bulk_threshold: int
    bulk_poll_seconds: float
    api_budget: float
    retry: RetryPolicy
    #: Where the org's pages are (links from the dashboard without logging in): the
    #: ``ui_url`` setting, else a My Domain login_url; None when neither says.
    ui_url: str | None
    #: Member status labels created as responses (``HasResponded``).
    responded_statuses: tuple[str, ...] = RESPONDED_STATUSES

    @classmethod
    def parse(cls, name: str, config: Mapping[str, Any]) -> SalesforceSettings:
        """Check a connection's settings; anything wrong is a CONFIG error naming the setting."""
        given = parse_settings(SalesforceConnection, config, at=(name,))
        login_url = given.login_url.rstrip("/")
        ui_url = given.ui_url
        if not ui_url and (urlsplit(login_url).hostname or "").endswith(".my.salesforce.com"):
            ui_url = login_url
        return cls(
            credentials=given.credentials(login_url),
            api_version=given.api_version,
            page_size=given.page_size,
            max_batch_size=given.max_batch_size,
            bulk_threshold=given.bulk_threshold,
            bulk_poll_seconds=given.bulk_poll_seconds,
            api_budget=given.api_budget,
            retry=given.retry.policy(),
            ui_url=ui_url.rstrip("/") if ui_url else None,
            responded_statuses=tuple(given.responded_statuses),
        )
