"""The remote schema for the editor: ``describe()`` of one object, cached in this process.

Describe is a remote call (Salesforce: one per object), so answers are kept for a few minutes
per connection and object; failures for less, so a fixed connection shows up soon. The call
runs on a worker thread and the page waits at most ``TIMEOUT`` seconds: a remote that hangs
makes the editor say "schema not available", never hang.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from connectors.base import ObjectInfo
from connectors.errors import ConnectorError
from connectors.retry import RetryPolicy
from core.errors import InputError
from core.redaction import redact
from dashboard.workspace import Workspace

#: Seconds a describe answer is reused, and a failure remembered.
TTL = 300.0
FAILURE_TTL = 30.0
#: Seconds a page waits for describe before showing the editor without the remote schema.
TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RemoteSchema:
    """What describe said about one object: its fields, or why they are not available."""

    connection: str
    object_name: str
    objects: dict[str, ObjectInfo] | None = None
    reason: str | None = None
    fetched_at: float = 0.0

    @property
    def available(self) -> bool:
        """True when describe answered."""
        return self.objects is not None

    @property
    def info(self) -> ObjectInfo | None:
        """The described object (None when unavailable or unknown to the remote)."""
        return (self.objects or {}).get(self.object_name)

    @property
    def field_names(self) -> list[str]:
        """The object's field names, sorted, for the remote field picker."""
        return sorted(self.info.fields) if self.info else []

    @property
    def notice(self) -> str | None:
        """``schema not available: <reason>`` when describe did not answer."""
        return None if self.available else f"schema not available: {self.reason}"


_lock = threading.Lock()
_cache: dict[tuple[str, str, str], RemoteSchema] = {}


def describe(ws: Workspace, scope: str, connection: str, object_name: str,
             timeout: float = TIMEOUT) -> RemoteSchema:
    """The schema of ``connection``'s ``object_name``; ``scope`` keeps apps' caches apart."""
    key = (scope, connection, object_name)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        ttl = TTL if cached.available else FAILURE_TTL
        if now - cached.fetched_at < ttl:
            return cached
    result = _fetch(ws, connection, object_name, timeout)
    with _lock:
        _cache[key] = result
    return result


def forget(scope: str, connection: str, object_name: str) -> None:
    """Drop the cached answer ("Refresh schema")."""
    with _lock:
        _cache.pop((scope, connection, object_name), None)


def _fetch(ws: Workspace, connection: str, object_name: str, timeout: float) -> RemoteSchema:
    if ws.connections is None:
        return _failed(connection, object_name, "no connections file is configured")
    box: dict[str, object] = {}

    def work() -> None:
        try:
            with ws.connector(connection) as connector:
                # One try: the page is waiting. The sync engine keeps its own retries.
                policy = getattr(connector, "retry", None)
                if isinstance(policy, RetryPolicy):
                    connector.retry = replace(policy, max_tries=1)  # type: ignore[attr-defined]
                box["objects"] = connector.describe([object_name])
        except (ConnectorError, InputError) as exc:
            box["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is shown, never a crash
            box["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=work, name=f"describe-{connection}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return _failed(connection, object_name, f"{connection} did not answer within "
                                                f"{timeout:g} s")
    if "objects" in box:
        objects = box["objects"]
        assert isinstance(objects, dict)
        return RemoteSchema(connection, object_name, objects, None, time.monotonic())
    return _failed(connection, object_name, str(box.get("error", "unknown failure")))


def _failed(connection: str, object_name: str, reason: str) -> RemoteSchema:
    return RemoteSchema(connection, object_name, None, redact(reason), time.monotonic())
