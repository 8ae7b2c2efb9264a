"""What writes and Bulk jobs need of the Salesforce connector, as narrow structural types.

The writer and the Bulk ingest take these instead of the whole connector, so neither module
imports the connector (which builds the writer): the three modules form a line, not a circle,
and a test can hand them a small fake.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from connectors.base import Change, ObjectInfo
from connectors.salesforce.transport import Transport


class BulkApi(Protocol):
    """A Bulk API 2.0 job's needs: the transport its calls go through, and the poll pace."""

    transport: Transport
    bulk_poll_seconds: float


class WriteApi(BulkApi, Protocol):
    """A write's needs: batch sizes, describe (for error hints), lookups and queries."""

    max_batch_size: int
    bulk_threshold: int

    def object_info(self, object_name: str) -> ObjectInfo:
        """One object's description (cached by the connector)."""
        ...

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Change]:
        """Live records whose field equals one of ``values``."""
        ...

    def query_rows(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every live row a query returns."""
        ...


class ReplicationApi(Protocol):
    """The deleted-records poll's needs: the transport and the object's describe."""

    transport: Transport

    def object_info(self, object_name: str) -> ObjectInfo:
        """One object's description (cached by the connector)."""
        ...

    def raw_describe(self, object_name: str) -> dict[str, Any]:
        """The object's describe as Salesforce answered it (``replicateable`` and all)."""
        ...
