"""What one sync cycle did (or, in a dry run, would do): counts, cost and planned actions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The keys of ``syncline sync --json``, in order (the documented output contract).
JSON_KEYS = (
    "mapping",
    "status",
    "read",
    "created_hub",
    "updated_hub",
    "created_remote",
    "updated_remote",
    "deleted",
    "skipped",
    "failed",
    "api_calls",
)


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


@dataclass(slots=True)
class RunReport:
    """Counts and outcome of one mapping's cycle."""

    mapping: str
    status: str = "success"  # success | partial | failed | braked | paused | locked | disabled
    read: int = 0
    created_hub: int = 0
    updated_hub: int = 0
    created_remote: int = 0
    updated_remote: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    api_calls: int = 0
    run_id: int | None = None
    duration_ms: int = 0
    backlog: int = 0
    message: str | None = None
    dry_run: bool = False
    planned_write_calls: int = 0
    planned: list[PlannedAction] = field(default_factory=list)
    #: Backfills done (or, in a dry run, estimated), one line each (jobs.backfill).
    backfill: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        """Records created or updated on either side ("a second run writes nothing" counts it)."""
        return self.created_hub + self.updated_hub + self.created_remote + self.updated_remote

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
        return out
