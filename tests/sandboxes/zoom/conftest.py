"""A fresh ZoomSandbox per test, a client that talks to it over HTTP, and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sandboxes.zoom.sandbox import ZoomSandbox


def path_uuid(uuid: str) -> str:
    """A UUID for a path as Zoom asks: encoded, twice when it starts with ``/`` or holds ``//``."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


class Clock:
    """Epoch seconds that only move when a test moves them.

    Rate limits count per second of this clock: a test making more calls of one category
    than the plan allows per second (Pro: 20 Medium) must move it, as time would.
    """

    def __init__(self, now: float = 1_780_000_000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Client:
    """What a Zoom client does: get a S2S token, call /v2 with it; plus the host's controls."""

    def __init__(self, sandbox: ZoomSandbox) -> None:
        self.sandbox = sandbox
        self.token = self.fetch_token().json()["access_token"]

    def fetch_token(self, **overrides: str) -> requests.Response:
        params = {"grant_type": "account_credentials", "account_id": self.sandbox.account_id}
        auth = overrides.pop("authorization", self.sandbox.basic_auth())
        params |= overrides
        return requests.post(self.sandbox.token_url, params=params,
                             headers={"Authorization": auth}, timeout=10)

    def call(self, method: str, path: str, *, token: str | None = None,
             **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return requests.request(method, self.sandbox.api_url + path, headers=headers,
                                timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.sandbox.url}/__sandbox__{path}", json=body,
                                    timeout=10)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def webinar(self, topic: str = "Pipeline Webinar", **values: Any) -> dict[str, Any]:
        return self.control("POST", "/webinars", {"topic": topic, **values})

    def register(self, webinar_id: int, *people: dict[str, Any]) -> list[dict[str, Any]]:
        return self.control("POST", f"/webinars/{webinar_id}/registrants",
                            {"registrants": list(people)})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[ZoomSandbox]:
    with ZoomSandbox(clock=clock) as running:
        yield running


@pytest.fixture
def client(sandbox: ZoomSandbox) -> Client:
    return Client(sandbox)
