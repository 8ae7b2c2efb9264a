"""The settings of a ``type: dynamics`` connection, checked once when the connector is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, model_validator

from connectors.retry import RetryPolicy
from connectors.settings import ConnectionSettings, WebAddress, parse_settings, version_text

SECRET_KEYS = frozenset({"client_secret"})

#: Dataverse's limits: pages of at most 5,000 rows (a larger odata.maxpagesize is refused) and
#: at most 1,000 requests per $batch.
MAX_PAGE_SIZE = 5000
MAX_BATCH_SIZE = 1000


class DynamicsConnection(ConnectionSettings):
    """What a ``type: dynamics`` entry of the connections file may say."""

    url: WebAddress = Field(description="the environment, e.g. https://org.crm.dynamics.com")
    token_url: WebAddress = Field(
        description="https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token"
    )
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    #: The v2 scope; by default ``<url>/.default``.
    scope: str | None = None
    #: v1-style: the environment URL, which becomes the scope ``<resource>/.default``.
    resource: str | None = None
    api_version: Annotated[str, BeforeValidator(version_text("9.2"))] = "9.2"
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    max_batch_size: int = Field(default=MAX_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE)

    @model_validator(mode="after")
    def _one_way_to_name_the_scope(self) -> Self:
        if self.scope and self.resource:
            raise ValueError("give scope or resource, not both")
        return self

    @property
    def oauth_scope(self) -> str:
        """The scope the token is asked for."""
        if self.resource:
            return self.resource.rstrip("/") + "/.default"
        return self.scope or f"{self.url.rstrip('/')}/.default"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the token request needs; the secret included, so never logged or shown."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str

    def __repr__(self) -> str:
        return f"<Credentials {urlsplit(self.token_url).hostname}>"


@dataclass(frozen=True, slots=True)
class DynamicsSettings:
    """Checked settings, as the connector uses them; ``credentials`` holds the secret.

    Made only by :meth:`parse`: the defaults are :class:`DynamicsConnection`'s.
    """

    url: str
    credentials: Credentials
    api_version: str
    page_size: int
    max_batch_size: int
    retry: RetryPolicy

    @property
    def api_url(self) -> str:
        """The Web API root, ``<url>/api/data/v9.2/``."""
        return f"{self.url}/api/data/v{self.api_version}/"

    @classmethod
    def parse(cls, name: str, config: Mapping[str, Any]) -> DynamicsSettings:
        """Check a connection's settings; anything wrong is a CONFIG error naming the setting."""
        given = parse_settings(DynamicsConnection, config, at=(name,))
        credentials = Credentials(given.token_url, given.client_id, given.client_secret,
                                  given.oauth_scope)
        return cls(
            url=given.url.rstrip("/"),
            credentials=credentials,
            api_version=given.api_version,
            page_size=given.page_size,
            max_batch_size=given.max_batch_size,
            retry=given.retry.policy(),
        )
