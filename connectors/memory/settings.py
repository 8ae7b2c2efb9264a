"""The settings of a ``type: memory`` connection, checked once when the connector is built."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from connectors.memory.store import MemoryStore
from connectors.settings import ConnectionSettings, Settings

#: ``versions:`` settings. ``sequence``: a record's version is its last change number, new on
#: every write (like Dataverse's versionnumber). ``seconds``: its last change time in whole
#: seconds (like Salesforce's SystemModstamp), so changes made in one second share a version.
Versions = Literal["sequence", "seconds"]


class FaultSettings(Settings):
    """The ``faults:`` block: random failures and latency before each call."""

    transient_rate: float = Field(default=0.0, ge=0)
    rate_limited_rate: float = Field(default=0.0, ge=0)
    retry_after: float = Field(default=1.0, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)
    latency_per_record_ms: float = Field(default=0.0, ge=0)
    #: Makes the random failures reproducible.
    seed: int | None = None


class MemoryConnection(ConnectionSettings):
    """What a ``type: memory`` entry of the connections file (or a test's config) may say."""

    #: A JSON file shared by processes (the demo); else a store named after the connection.
    path: str | None = Field(default=None, min_length=1)
    #: A store handed over in code (tests, the demo); wins over ``path``.
    store: Any = None
    api_key: str | None = None
    page_size: int = Field(default=200, ge=1)
    max_batch_size: int = Field(default=200, ge=1)
    lookup_batch_size: int = Field(default=200, ge=1)
    faults: FaultSettings = Field(default_factory=FaultSettings)
    #: Objects and fields to add or change (checked by the store's schema).
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    #: Test hook, like ``MemoryStore.crash_after_write`` but for this connection only.
    crash_after_write: int | None = None
    versions: Versions = "sequence"

    @field_validator("store")
    @classmethod
    def _a_store(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, MemoryStore):
            raise ValueError("must be a MemoryStore instance")
        return value
