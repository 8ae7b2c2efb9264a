"""The scheduler's view of its files, re-read whenever they change.

Mapping files, hub.yaml and the connections file are stamped (mtime and size); a changed stamp
reloads them file by file (mappings.workspace), so the next cycle of every affected mapping uses
the new content, and one broken file stops only the mapping(s) it defines. Those get one
job-level ``MAPPING_INVALID`` error naming ``file:line path: message``; it is resolved as soon
as the file loads again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from attribution.config import AttributionSettings
from attribution.engine import settings_in
from connectors.base import Connector
from connectors.errors import ErrorKind
from core.clock import utcnow
from core.db import session
from core.errors import InputError
from core.hubschema import HubSchema
from core.logs import event, get_logger
from jobs.engine import SyncContext
from jobs.failures import JOB_DIRECTION, Failure, FailureLog
from lifecycle.loader import lifecycle_path, load_lifecycle
from mappings.workspace import Workspace, load_workspace, signature
from scoring.loader import load_scoring, scoring_path
from scoring.spec import Scoring
from touches.programs import Programs, load_programs, programs_path

log = get_logger("scheduler")
T = TypeVar("T")

#: The job-level error of a mapping whose file (or hub.yaml, or connections file) is broken.
INVALID_CODE = "MAPPING_INVALID"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent reading of the files: the context cycles run with, and what is stopped."""

    ctx: SyncContext
    workspace: Workspace


class LiveConfig:
    """Reloads the files when they change and keeps the job-level errors of broken ones true.

    ``current()`` is cheap (a stat of each file) and is called before every cycle, so a change
    saved a moment before a cycle starts is already in it.
    """

    def __init__(
        self,
        engine: Engine,
        mappings_dir: Path,
        connections_path: Path | None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.mappings_dir = mappings_dir
        self.connections_path = connections_path
        self.stopping = stopping
        self._lock = threading.Lock()
        self._stamp: tuple[object, ...] | None = None
        self._snapshot: Snapshot | None = None
        #: Stamp whose errors made it into the database (a down database is retried later).
        self._recorded: tuple[object, ...] | None = None
        self._reported: set[str] = set()

    def current(self) -> SyncContext:
        """The context of the files as they are now (reloaded first if any of them changed)."""
        return self.snapshot().ctx

    def snapshot(self) -> Snapshot:
        """The latest reading, reloading the files if their stamps changed."""
        stamp = signature(self.mappings_dir, self.connections_path)
        with self._lock:
            if self._snapshot is None or stamp != self._stamp:
                previous = self._snapshot.workspace if self._snapshot else None
                workspace = load_workspace(self.mappings_dir, self.connections_path, previous)
                self._snapshot = Snapshot(self._context(workspace), workspace)
                if self._stamp is not None:
                    event(
                        log,
                        "config.reloaded",
                        mappings=len(workspace.runnable),
                        stopped=",".join(sorted(workspace.stopped)) or None,
                    )
                self._stamp = stamp
            snapshot = self._snapshot
            if self._recorded != self._stamp:
                try:
                    self._record_problems(snapshot.workspace)
                    self._recorded = self._stamp
                except SQLAlchemyError as exc:  # the database is down: tried again next time
                    event(log, "config.errors_not_recorded", error=type(exc).__name__)
        return snapshot

    def _context(self, workspace: Workspace) -> SyncContext:
        connections = workspace.connections

        def connect(name: str) -> Connector:
            if connections is None:
                raise InputError("connections", "no connections file is loaded")
            return connections.build(name)

        return SyncContext(
            self.engine, workspace.runnable, workspace.hub_schema, connect, self.stopping,
            self._programs(), self._attribution(), self._scoring(workspace.hub_schema),
            _or_none("lifecycle.invalid",
                     lambda: load_lifecycle(lifecycle_path(self.mappings_dir),
                                            hub_schema=workspace.hub_schema)),
        )

    def _programs(self) -> Programs | None:
        """The programs file as it is now; None (hub steps wait) while it does not load."""
        # The syncs go on: only the touches from campaign members wait for the fix.
        return _or_none("programs.invalid",
                        lambda: load_programs(programs_path(self.mappings_dir)))

    def _attribution(self) -> AttributionSettings | None:
        """The attribution file as it is now; None (attribution waits) while it does not load."""
        # The syncs go on; the credits already computed stay until the file is fixed.
        return _or_none("attribution.invalid", lambda: settings_in(self.mappings_dir))

    def _scoring(self, schema: HubSchema) -> Scoring | None:
        """The scoring rules as they are now; None (scores stay) while they do not load."""
        path = scoring_path(self.mappings_dir)
        if not path.is_file():
            return None
        return _or_none("scoring.invalid", lambda: load_scoring(path, hub_schema=schema))

    def _record_problems(self, workspace: Workspace) -> None:
        """One job-level error per stopped mapping; resolve it for mappings that load again."""
        now = utcnow()
        with session(self.engine) as db:
            for name, problems in sorted(workspace.stopped.items()):
                FailureLog(db, name, JOB_DIRECTION, None, now).record(
                    _invalid(problems), level="job"
                )
            back = (self._reported | set(workspace.mappings)) - set(workspace.stopped)
            for name in sorted(back):
                FailureLog(db, name, JOB_DIRECTION, None, now).resolve_job_code(INVALID_CODE)
        for name, problems in sorted(workspace.stopped.items()):
            if name not in self._reported:
                event(log, "mapping.stopped", mapping=name, error=str(problems[0]))
        for name in sorted(self._reported - set(workspace.stopped)):
            event(log, "mapping.resumed", mapping=name)
        self._reported = set(workspace.stopped)


def _invalid(problems: list[InputError]) -> Failure:
    lines = [str(p) for p in problems]
    return Failure(
        ErrorKind.CONFIG,
        "; ".join(lines),
        code=INVALID_CODE,
        hint="this mapping does not sync until the file loads again: fix it (or check it with "
        "`syncline mappings check`); the scheduler picks the fix up within seconds",
    )


def _or_none(event_name: str, load: Callable[[], T]) -> T | None:
    """What ``load`` reads, or None after logging the file's first problem as ``event_name``."""
    try:
        return load()
    except InputError as exc:
        event(log, event_name, error=str(exc).splitlines()[0],
              hint="fix it (`syncline mappings check` lists every problem)")
        return None
