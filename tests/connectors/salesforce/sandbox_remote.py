"""A SalesforceSandbox shared by a test module, reset per test, and a RemoteControl over it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.salesforce import SalesforceConnector
from connectors.salesforce.schema import parse_datetime as parse_stamp
from sandboxes.salesforce import routes_data
from sandboxes.salesforce.config import SandboxConfig
from sandboxes.salesforce.recycle import hard_delete
from sandboxes.salesforce.sandbox import SalesforceSandbox, default_config

#: Credentials with every character an encoder treats specially (see
#: connectors/conformance/secretforms.py): a secret shown URL-encoded, JSON-escaped or in
#: base64 is then not the secret as written.
TRICKY_CLIENT_SECRET = "cs-pä+ss/w=rd%&#!ü"
TRICKY_PASSWORD = 'pw "top" <x> \\ 🔑 100%'
TRICKY_SECURITY_TOKEN = "tök+/=%&#!en"


def tricky_config() -> SandboxConfig:
    """The default org, its connected app and integration user given the tricky secrets."""
    config = default_config()
    app, *apps = config.connected_apps
    user, *users = config.users
    return replace(
        config,
        connected_apps=(replace(app, client_secret=TRICKY_CLIENT_SECRET), *apps),
        users=(replace(user, password=TRICKY_PASSWORD, security_token=TRICKY_SECURITY_TOKEN),
               *users),
    )


def sandbox_settings(sandbox: SalesforceSandbox, **extra: Any) -> dict[str, Any]:
    return {"type": "salesforce", "login_url": sandbox.url, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "username": sandbox.username,
            "password": sandbox.password, "security_token": sandbox.security_token,
            "bulk_poll_seconds": 0.02, **extra}


def rep_id(sandbox: SalesforceSandbox) -> str:
    """The sales rep (not the integration user) whose edits the tests simulate."""
    return sandbox.org.users[1].user_id


class SandboxRemote:
    """RemoteControl over a SalesforceSandbox: a sales rep's edits and injected faults."""

    def __init__(self, sandbox: SalesforceSandbox, connector: SalesforceConnector,
                 object_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sandbox, self.connector, self.object_name = sandbox, connector, object_name
        self.monkeypatch = monkeypatch
        self.offset = timedelta()

    def seed(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        keys = []
        with self.sandbox.state.org_lock:
            for record in records:
                keys.append(self.sandbox.org.insert(self.object_name, dict(record),
                                                    user_id=rep_id(self.sandbox)))
                self._next_second()
        return keys

    def _next_second(self) -> None:
        # Seeded records get distinct SystemModstamps, as records made one by one by people
        # do; ties (one transaction, many records) have their own tests. Stamps have whole
        # seconds: the next change is stamped a second later rather than waited for.
        org = self.sandbox.org
        last = max(parse_stamp(r["SystemModstamp"]) for r in org.rows(self.object_name, True))
        org.bump_clock(last + timedelta(seconds=1))

    def edit(self, key: str, fields: Mapping[str, Any]) -> None:
        with self.sandbox.state.org_lock:
            self.sandbox.org.update(self.object_name, key, dict(fields),
                                    user_id=rep_id(self.sandbox))

    def delete(self, key: str) -> None:
        with self.sandbox.state.org_lock:
            self.sandbox.org.delete(self.object_name, key, user_id=rep_id(self.sandbox))

    def purge(self, key: str) -> None:
        with self.sandbox.state.org_lock:
            hard_delete(self.sandbox.org, self.object_name, [key], user_id=rep_id(self.sandbox))

    def later(self, minutes: int) -> datetime:
        # Salesforce lists deletions in whole minutes: the org's clock moves on by hand.
        self.offset += timedelta(minutes=minutes)
        offset = self.offset
        self.sandbox.org._clock = lambda: datetime.now(UTC) + offset
        return self.sandbox.org.now()

    def set_page_size(self, n: int) -> None:
        # Salesforce (and the sandbox) never page below 200 rows; the suite wants tiny pages.
        self.monkeypatch.setattr(routes_data, "MIN_BATCH_SIZE", n)
        self.connector.page_size = n

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        self.sandbox.faults.inject(kind, times, retry_after)

    def patch_sleep(self) -> list[float]:
        slept: list[float] = []
        self.connector.retry = replace(self.connector.retry, sleep=slept.append)
        return slept
