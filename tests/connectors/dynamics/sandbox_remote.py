"""A DynamicsSandbox shared by a test module, reset per test, and a RemoteControl over it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from connectors.dynamics import DynamicsConnector
from sandboxes.dynamics.sandbox import DynamicsSandbox, SandboxConfig

#: A client secret with every character an encoder treats specially (see
#: connectors/conformance/secretforms.py).
TRICKY_CLIENT_SECRET = 'cs "pä+ss/w=rd" %&#! <ü> \\ 🔑'


def tricky_config() -> SandboxConfig:
    """The default environment, its app registration given the tricky secret."""
    return SandboxConfig(client_secret=TRICKY_CLIENT_SECRET)


def sandbox_settings(sandbox: DynamicsSandbox, **extra: Any) -> dict[str, Any]:
    return {"type": "dynamics", "url": sandbox.url, "token_url": sandbox.token_url,
            "client_id": sandbox.client_id, "client_secret": sandbox.client_secret, **extra}


class SandboxRemote:
    """RemoteControl over a DynamicsSandbox: a sales rep's edits and injected faults."""

    def __init__(self, sandbox: DynamicsSandbox, connector: DynamicsConnector,
                 entity: str) -> None:
        self.sandbox, self.connector, self.entity = sandbox, connector, entity

    def stored(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Fields as a Dynamics user's form saves them: option labels become their values."""
        meta = self.sandbox.env.metadata.entity(self.entity)
        out = {}
        for name, value in fields.items():
            attribute = meta.attributes.get(name)
            if attribute is not None and attribute.options and isinstance(value, str):
                value = next(o.value for o in attribute.options if o.label == value)
            out[name] = value
        return out

    def seed(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        with self.sandbox.state.env_lock:
            return [self.sandbox.env.create(self.entity, self.stored(r)) for r in records]

    def edit(self, key: str, fields: Mapping[str, Any]) -> None:
        with self.sandbox.state.env_lock:
            self.sandbox.env.update(self.entity, key, self.stored(fields))

    def delete(self, key: str) -> None:
        with self.sandbox.state.env_lock:
            self.sandbox.env.delete(self.entity, key)

    def set_page_size(self, n: int) -> None:
        self.connector.page_size = n

    def inject(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        self.sandbox.faults.inject(kind, times, retry_after)

    def patch_sleep(self) -> list[float]:
        slept: list[float] = []
        self.connector.retry = replace(self.connector.retry, sleep=slept.append)
        return slept
