"""The settings of a ``type: salesforce`` connection, checked once when the connector is built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url
from connectors.retry import RetryPolicy
from connectors.salesforce.auth import Credentials, Grant

SETTINGS = frozenset({
    "type", "login_url", "auth", "client_id", "client_secret", "username", "password",
    "security_token", "private_key", "api_version", "page_size", "max_batch_size",
    "bulk_threshold", "bulk_poll_seconds", "api_budget", "retry", "ui_url",
})
SECRET_KEYS = frozenset({"client_secret", "password", "security_token", "private_key"})

#: Salesforce's limits: query pages of 200..2000 rows, 200 records per Collections call.
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 200, 2000
MAX_COLLECTION_SIZE = 200


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    """Checked settings; ``credentials`` holds the secrets."""

    credentials: Credentials
    api_version: str = "59.0"
    page_size: int = MAX_PAGE_SIZE
    max_batch_size: int = MAX_COLLECTION_SIZE
    bulk_threshold: int = 2000
    bulk_poll_seconds: float = 2.0
    api_budget: float = 0.8
    retry: RetryPolicy = RetryPolicy()
    #: Where the org's pages are (links from the dashboard without logging in): the
    #: ``ui_url`` setting, else a My Domain login_url; None when neither says.
    ui_url: str | None = None

    @classmethod
    def parse(cls, name: str, config: Mapping[str, Any]) -> SalesforceSettings:
        """Check a connection's settings; anything wrong is a CONFIG error naming the setting."""
        unknown = sorted(set(config) - SETTINGS)
        if unknown:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"unknown setting {unknown[0]!r} for salesforce connection '{name}' "
                f"(known: {', '.join(sorted(SETTINGS))})",
            )
        login_url = config.get("login_url")
        if not isinstance(login_url, str) or not login_url:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"salesforce connection '{name}' needs login_url",
                hint="https://login.salesforce.com, https://test.salesforce.com or your My Domain",
            )
        check_url(login_url)
        grant_name = config.get("auth", Grant.PASSWORD.value)
        try:
            grant = Grant(grant_name)
        except ValueError:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"auth must be one of {', '.join(g.value for g in Grant)}, not {grant_name!r}",
            ) from None
        texts = {key: _text(config, key) for key in (
            "client_id", "client_secret", "username", "password", "security_token",
            "private_key")}
        credentials = Credentials(login_url=login_url.rstrip("/"), grant=grant, **texts)
        missing = credentials.missing()
        if missing:
            raise ConnectorError(
                ErrorKind.CONFIG,
                f"auth '{grant}' on connection '{name}' needs {', '.join(missing)}",
            )
        version = str(config.get("api_version", "59.0"))
        if not version.replace(".", "", 1).isdigit() or "." not in version:
            raise ConnectorError(
                ErrorKind.CONFIG, f"api_version must look like 59.0, not {version!r}")
        if float(version) < 46.0:
            # Collections upsert, and the "created" flag that tells an upsert's create from its
            # update, arrived in API 46.0.
            raise ConnectorError(ErrorKind.CONFIG, "api_version must be 46.0 or later")
        budget = config.get("api_budget", 0.8)
        if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget <= 1:
            raise ConnectorError(ErrorKind.CONFIG, "api_budget must be a share between 0 and 1")
        poll = config.get("bulk_poll_seconds", 2.0)
        if isinstance(poll, bool) or not isinstance(poll, int | float) or poll < 0:
            raise ConnectorError(
                ErrorKind.CONFIG, "bulk_poll_seconds must be a non-negative number")
        ui_url = _text(config, "ui_url")
        if ui_url:
            check_url(ui_url)
        elif (urlsplit(login_url).hostname or "").endswith(".my.salesforce.com"):
            ui_url = login_url
        return cls(
            credentials=credentials,
            api_version=version,
            page_size=_int(config, "page_size", MAX_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE),
            max_batch_size=_int(config, "max_batch_size", MAX_COLLECTION_SIZE, 1,
                                MAX_COLLECTION_SIZE),
            bulk_threshold=_int(config, "bulk_threshold", 2000, 1, None),
            bulk_poll_seconds=float(poll),
            api_budget=float(budget),
            retry=RetryPolicy.from_config(config.get("retry")),
            ui_url=ui_url.rstrip("/") if ui_url else None,
        )


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        # Never echo the value: it may be a secret.
        raise ConnectorError(ErrorKind.CONFIG, f"{key} must be text")
    return value


def _int(config: Mapping[str, Any], key: str, default: int, low: int, high: int | None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f"at least {low}"
        raise ConnectorError(ErrorKind.CONFIG, f"{key} must be an integer {span}, not {value!r}")
    return value
