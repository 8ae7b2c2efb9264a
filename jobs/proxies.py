"""Connectors wrapped around the real one for a cycle: a dry run's, and the lease guard's."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from connectors.base import (
    ApiUsage,
    Connector,
    Cursor,
    HardDeletes,
    Op,
    OutboundRecord,
    Page,
    WriteCost,
    WriteResult,
    WriteStatus,
)
from connectors.filters import Filter


class ConnectorProxy(Connector):
    """Passes every call through to ``inner``; subclasses override what they change."""

    type_name = "proxy"

    def __init__(self, inner: Connector) -> None:
        super().__init__(inner.name, {})
        self.inner = inner
        self.capabilities = inner.capabilities  # type: ignore[misc]
        self.where_refused = inner.where_refused  # type: ignore[misc]

    @property  # type: ignore[override]
    def api_calls(self) -> int:
        return self.inner.api_calls

    @api_calls.setter
    def api_calls(self, value: int) -> None:
        pass  # the base class initialises it; reads go to the real connector's counter

    def check(self) -> None:
        self.inner.check()

    def usage(self) -> ApiUsage | None:
        return self.inner.usage()

    def describe(self, objects: Sequence[str] | None = None) -> dict[str, Any]:
        return self.inner.describe(objects)

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        return self.inner.read_changes(object_name, since, fields=fields, where=where)

    def where_text(self, object_name: str, where: Filter) -> str | None:
        return self.inner.where_text(object_name, where)

    def read_hard_deletes(
        self, object_name: str, since: Cursor | None, *, now: datetime | None = None
    ) -> HardDeletes:
        return self.inner.read_hard_deletes(object_name, since, now=now)

    def lookup_deleted(self, object_name: str, keys: Sequence[str]) -> list[Any]:
        return self.inner.lookup_deleted(object_name, keys)

    def lookup(
        self,
        object_name: str,
        field_name: str,
        values: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
    ) -> list[Any]:
        return self.inner.lookup(object_name, field_name, values, fields=fields)

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        return self.inner.write(object_name, records)

    def ui_url(self, object_name: str, key: str) -> str | None:
        return self.inner.ui_url(object_name, key)

    def write_cost(self, records: int) -> WriteCost:
        return self.inner.write_cost(records)

    def read_cost(self, records: int) -> int:
        return self.inner.read_cost(records)

    def close(self) -> None:
        self.inner.close()


class DryRunConnector(ConnectorProxy):
    """Reads through to the real connector; writes are counted and answered, never sent."""

    type_name = "dry-run"

    def __init__(self, inner: Connector) -> None:
        super().__init__(inner)
        self.planned_write_calls = 0
        self._new = 0

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        self.planned_write_calls += math.ceil(len(records) / self.capabilities.max_batch_size)
        results = []
        for record in records:
            if record.op is Op.DELETE:
                results.append(WriteResult(record.ref, WriteStatus.DELETED, key=record.key))
            elif record.key is None:
                self._new += 1
                results.append(
                    WriteResult(record.ref, WriteStatus.CREATED, key=f"(new {self._new})")
                )
            else:
                results.append(WriteResult(record.ref, WriteStatus.UPDATED, key=record.key))
        return results


class GuardedConnector(ConnectorProxy):
    """Calls ``before_write`` before every write: a cycle that lost its lease must not write.

    The database side is guarded by renewing the lease in each page's transaction; this is the
    remote side's guard, checked right before the records leave.
    """

    type_name = "guarded"

    def __init__(self, inner: Connector, before_write: Callable[[], None]) -> None:
        super().__init__(inner)
        self.before_write = before_write

    def write(self, object_name: str, records: Sequence[OutboundRecord]) -> list[WriteResult]:
        self.before_write()
        return self.inner.write(object_name, records)
