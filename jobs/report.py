"""What one sync cycle did (or, in a dry run, would do): counts, cost and planned actions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Field

from core.models.sync import RUN_COUNTERS, RunCounts

#: The keys of ``syncline sync --json``, in order (the documented output contract): the
#: mapping, its status, then every run counter.
JSON_KEYS = ("mapping", "status", *(counter.name for counter in RUN_COUNTERS))


@dataclass(slots=True)
class PlannedAction:
    """One record-level action, as planned (dry run) or done (logged)."""

    direction: str  # to_hub | to_remote
    action: str  # create | update | link | delete | unlink | conflict | fail | skip
    hub_id: str | None = None
    remote_id: str | None = None
    email: str | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field → [old, new]
    note: str | None = None


class RunReport(RunCounts):
    """Counts and outcome of one mapping's cycle (the counts are the ``sync_run`` row's)."""

    mapping: str
    status: str = "success"  # success | partial | failed | braked | paused | locked | disabled
    run_id: int | None = None
    duration_ms: int = 0
    backlog: int = 0
    message: str | None = None
    dry_run: bool = False
    planned_write_calls: int = 0
    planned: list[PlannedAction] = Field(default_factory=list)
    #: How the pull_rule went into the remote's query, if it has one (jobs.pushdown).
    pushdown: list[str] = Field(default_factory=list)
    #: Backfills done (or, in a dry run, estimated), one line each (jobs.backfill).
    backfill: list[str] = Field(default_factory=list)

    @property
    def writes(self) -> int:
        """Records created or updated on either side ("a second run writes nothing" counts it)."""
        return self.moved

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object: the documented keys first, then run id, duration and message."""
        out: dict[str, Any] = {key: getattr(self, key) for key in JSON_KEYS}
        out["run_id"] = self.run_id
        out["duration_ms"] = self.duration_ms
        out["backlog"] = self.backlog
        if self.message:
            out["message"] = self.message
        if self.backfill:
            out["backfill"] = self.backfill
        if self.dry_run:
            out["dry_run"] = True
            out["planned_write_calls"] = self.planned_write_calls
            out["planned"] = [asdict(p) for p in self.planned]
            out["pushdown"] = list(self.pushdown)
        return out
