"""What ``$batch`` writes need of the Dataverse connector, as a narrow structural type.

The writer takes this instead of the whole connector, so writes.py does not import the
connector that builds it (no import circle), and a test can hand it a small fake.
"""

from __future__ import annotations

from typing import Protocol

from connectors.dynamics.schema import EntityInfo
from connectors.http import HttpClient


class WriteApi(Protocol):
    """The Web API client, the batch size, table metadata and the GUIDs seen so far."""

    max_batch_size: int
    #: GUID → table, learnt from reads and writes: which target a Customer lookup binds.
    known_targets: dict[str, str]

    @property
    def http(self) -> HttpClient:
        """The Web API client (its base URL prefixes every request inside a batch)."""
        ...

    def entity(self, entity_name: str) -> EntityInfo:
        """One table's metadata (cached by the connector)."""
        ...
