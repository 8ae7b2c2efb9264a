"""The settings of a ``type: dynamics`` connection, checked once when the connector is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url
from connectors.retry import RetryPolicy

SETTINGS = frozenset({
    "type", "url", "token_url", "client_id", "client_secret", "scope", "resource",
    "api_version", "page_size", "max_batch_size", "retry",
})
SECRET_KEYS = frozenset({"client_secret"})

#: Dataverse's limits: pages of at most 5,000 rows (a larger odata.maxpagesize is refused) and
#: at most 1,000 requests per $batch.
MAX_PAGE_SIZE = 5000
MAX_BATCH_SIZE = 1000


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
    """Checked settings; ``credentials`` holds the secret."""

    url: str
    credentials: Credentials
    api_version: str = "9.2"
    page_size: int = MAX_PAGE_SIZE
    max_batch_size: int = MAX_BATCH_SIZE
    retry: RetryPolicy = RetryPolicy()

    @property
    def api_url(self) -> str:
        """The Web API root, ``<url>/api/data/v9.2/``."""
        return f"{self.url}/api/data/v{self.api_version}/"

    @classmethod
    def parse(cls, name: str, config: Mapping[str, Any]) -> DynamicsSettings:
        """Check a connection's settings; anything wrong is a CONFIG error naming the setting."""
        unknown = sorted(set(config) - SETTINGS)
        if unknown:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                f" for dynamics connection '{name}' (known: {', '.join(sorted(SETTINGS))})",
            )
        missing = [k for k in ("url", "token_url", "client_id", "client_secret")
                   if not config.get(k)]
        if missing:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"dynamics connection '{name}' needs {', '.join(missing)}",
                hint="url is the environment (https://org.crm.dynamics.com); token_url is "
                     "https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token",
            )
        url = _text(config, "url").rstrip("/")
        token_url = _text(config, "token_url")
        check_url(url)
        check_url(token_url)
        if config.get("scope") and config.get("resource"):
            raise ConnectorError(ErrorKind.CONFIG, "give scope or resource, not both")
        if config.get("resource"):
            # v1-style "resource" (the environment URL) becomes the v2 scope "<resource>/.default".
            scope = _text(config, "resource").rstrip("/") + "/.default"
        else:
            scope = _text(config, "scope") if config.get("scope") else f"{url}/.default"
        version = str(config.get("api_version", "9.2"))
        if not version.replace(".", "", 1).isdigit() or "." not in version:
            raise ConnectorError(
                ErrorKind.CONFIG, f"api_version must look like 9.2, not {version!r}")
        credentials = Credentials(token_url, _text(config, "client_id"),
                                  _text(config, "client_secret"), scope)
        return cls(
            url=url,
            credentials=credentials,
            api_version=version,
            page_size=_int(config, "page_size", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            max_batch_size=_int(config, "max_batch_size", MAX_BATCH_SIZE, 1, MAX_BATCH_SIZE),
            retry=RetryPolicy.from_config(config.get("retry")),
        )


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str):
        # Never echo the value: it may be a secret.
        raise ConnectorError(ErrorKind.CONFIG, f"{key} must be text")
    return value


def _int(config: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConnectorError(
            ErrorKind.CONFIG, f"{key} must be an integer {low}..{high}, not {value!r}")
    return value
