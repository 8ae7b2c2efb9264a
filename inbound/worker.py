"""Processing soon after a request is stored: one background thread per web process.

The route only stores and answers; it then asks this worker to run the mappings that read
the source (their pull), never inside the request: a sender waits a few seconds at most, and
one path means a fresh event is processed exactly as a replayed one. Triggers that arrive
while a run is going are coalesced into one more run. Two runs of one mapping never overlap,
here or with the scheduler: ``run_mapping`` takes the mapping's lease, and a mapping found
locked is tried again a moment later (the run holding it may have read before our event was
stored). Whatever this worker misses (the process killed right after a 202) the mapping's
own schedule picks up, and ``syncline web`` asks once at start for anything left over.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import Engine

from connectors import build_connector
from connectors.base import Connector
from core.logs import event, get_logger
from inbound.progress import readers
from jobs.engine import SyncContext, run_mapping
from jobs.live import LiveConfig

log = get_logger("inbound")

#: Seconds before a mapping found locked (another run holds it) is tried again.
LOCKED_RETRY_SECONDS = 1.0
#: Tries of a locked mapping before the worker leaves it to the scheduler.
LOCKED_TRIES = 120
#: What the run rows of this worker's runs say started them.
TRIGGER = "webhook"


class Processor:
    """Runs the mappings reading a source after its requests are stored, in one thread."""

    def __init__(self, engine: Engine, mappings_dir: Path, connections_path: Path | None) -> None:
        self.engine = engine
        self.stopping = threading.Event()
        self.live = LiveConfig(engine, mappings_dir, connections_path, self.stopping)
        self._wake = threading.Condition()
        self._pending: dict[str, int] = {}  # source → tries so far
        self._thread: threading.Thread | None = None
        #: Runs finished (tests and the bench wait on it).
        self.runs = 0

    def trigger(self, sources: Iterable[str], tries: int = 0) -> None:
        """Ask for a run of the mappings reading ``sources`` (returns at once)."""
        with self._wake:
            for source in sources:
                self._pending[source] = max(tries, self._pending.get(source, 0))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="inbound-worker",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.stop)
            self._wake.notify()

    def trigger_leftovers(self) -> None:
        """Ask for a run of every source some mapping reads (what a killed process left)."""
        workspace = self.live.snapshot().workspace
        connections = workspace.connections
        if connections is None:
            return
        sources = [name for name in connections
                   if connections.get(name).get("type") == "webhook"
                   and readers(workspace.runnable, name)]
        if sources:
            self.trigger(sources)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current page (cursors stay safe); wait up to ``timeout`` seconds."""
        self.stopping.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            with self._wake:
                while not self._pending and not self.stopping.is_set():
                    self._wake.wait()
                batch, self._pending = self._pending, {}
            if batch:
                try:
                    self._process(batch)
                except Exception as exc:  # never let the thread die: the next trigger retries
                    event(log, "inbound.process_failed", error=type(exc).__name__)

    def _process(self, batch: dict[str, int]) -> None:
        ctx = self._context()
        locked: dict[str, int] = {}
        for source, tries in sorted(batch.items()):
            for name in readers(ctx.mappings, source):
                if self.stopping.is_set():
                    return
                report = run_mapping(ctx, name, trigger=TRIGGER)
                self.runs += 1
                if report.status == "locked" and tries + 1 < LOCKED_TRIES:
                    locked[source] = tries + 1
        if locked and not self.stopping.wait(LOCKED_RETRY_SECONDS):
            for source, tries in locked.items():
                self.trigger([source], tries)

    def _context(self) -> SyncContext:
        """The files' context, with webhook connectors reading this process's database."""
        snapshot = self.live.snapshot()
        connections = snapshot.workspace.connections
        base = snapshot.ctx.connect

        def connect(name: str) -> Connector:
            if connections is not None and name in connections:
                config = connections.get(name)
                if config.get("type") == "webhook":
                    connections.check(name)
                    return build_connector(name, {**config, "engine": self.engine})
            return base(name)

        return replace(snapshot.ctx, connect=connect)
