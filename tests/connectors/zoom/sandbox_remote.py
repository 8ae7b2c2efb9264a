"""A RemoteControl over a ZoomSandbox: the webinar host's actions and injected faults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connectors.zoom import ZoomConnector
from sandboxes.zoom.sandbox import SandboxConfig, ZoomSandbox

#: A client secret with every character an encoder treats specially (see
#: connectors/conformance/secretforms.py).
TRICKY_CLIENT_SECRET = 'zs "pä+ss/w=rd" %&#! <ü> \\ 🔑'


def tricky_config() -> SandboxConfig:
    """The default account, its app given the tricky secret."""
    return SandboxConfig(client_secret=TRICKY_CLIENT_SECRET)


def sandbox_settings(sandbox: ZoomSandbox, **extra: Any) -> dict[str, Any]:
    return {"type": "zoom", "account_id": sandbox.account_id, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "api_url": sandbox.api_url,
            "token_url": sandbox.token_url, **extra}


def control(sandbox: ZoomSandbox, method: str, path: str, body: Any = None) -> Any:
    """Call the sandbox's control API (``/__sandbox__``) as the webinar host."""
    response = requests.request(method, f"{sandbox.url}/__sandbox__{path}", json=body,
                                timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def schedule(sandbox: ZoomSandbox, topic: str = "Pipeline Math", *, start: datetime | None = None,
             duration: int = 60, **more: Any) -> str:
    """A webinar starting at ``start`` (tomorrow by default); its id."""
    when = start or datetime.now(UTC) + timedelta(days=1)
    made = control(sandbox, "POST", "/webinars", {
        "topic": topic, "start_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": duration, **more})
    return str(made["id"])


def register(sandbox: ZoomSandbox, webinar_id: str, people: Sequence[Mapping[str, Any]]
             ) -> list[str]:
    """Register people as the registration page does; their registrant keys."""
    made = control(sandbox, "POST", f"/webinars/{webinar_id}/registrants",
                   {"registrants": [dict(p) for p in people]})
    return [f"{webinar_id}:{row['id']}" for row in made]


class SandboxRemote:
    """RemoteControl over a ZoomSandbox: registrations, cancellations and faults."""

    def __init__(self, sandbox: ZoomSandbox, connector: ZoomConnector) -> None:
        self.sandbox, self.connector = sandbox, connector

    def seed(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        keys: list[str] = []
        for record in records:
            fields = {k: v for k, v in record.items() if k != "webinar_id"}
            keys += register(self.sandbox, str(record["webinar_id"]), [fields])
        return keys

    def edit(self, key: str, fields: Mapping[str, Any]) -> None:
        # Zoom has no edit of a registration, by the host or the registrant: this changes the
        # store behind the API, for tests of what a read then shows.
        webinar_id, _, registrant_id = key.partition(":")
        account = self.sandbox.account
        with account.lock:
            account.registrants[int(webinar_id)][registrant_id].update(fields)

    def delete(self, key: str) -> None:
        """The host cancels the registration."""
        webinar_id, _, registrant_id = key.partition(":")
        self.sandbox.account.update_statuses(int(webinar_id), "cancel", [{"id": registrant_id}])

    def set_page_size(self, n: int) -> None:
        self.connector.page_size = n
        self.connector.api.page_size = n
        self.connector.reader.page_size = n

    def purge(self, key: str) -> None:
        raise NotImplementedError("Zoom lists no hard deletes")

    def later(self, minutes: int) -> datetime:
        raise NotImplementedError("Zoom lists no hard deletes")

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        self.sandbox.faults.inject(kind, times, retry_after)

    def patch_sleep(self) -> list[float]:
        slept: list[float] = []
        self.connector.retry = replace(self.connector.retry, sleep=slept.append)
        return slept
