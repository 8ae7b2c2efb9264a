"""Keeping a sandbox's data across restarts: a timer that saves it, and atomic file writes."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The layout version of every sandbox state file.
FORMAT = 1


class StateError(ValueError):
    """A state file that cannot be loaded (names the file and the problem)."""


def read_state(path: Path) -> dict[str, Any]:
    """A state file's content, checked to be readable JSON of this :data:`FORMAT`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: cannot read sandbox state ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise StateError(f"{path}: unknown state format {found!r}")
    return data


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that a crash mid-write keeps the previous file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, path)


class AutoSaver:
    """Calls ``save`` every ``interval`` seconds in a daemon thread, and once more on stop."""

    def __init__(self, save: Callable[[], None], interval: float = 5.0) -> None:
        self._save = save
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._save()

    def stop(self) -> None:
        """Stop the timer and save a last time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        self._save()


class StateKeeper:
    """A sandbox's data file: loaded once on start when it exists, then saved until stop."""

    def __init__(
        self, path: Path, load: Callable[[Path], Any], save: Callable[[Path], None]
    ) -> None:
        self.path = path
        self._load = load
        self._save = save
        self._saver: AutoSaver | None = None
        #: None until opened; then whether the data came from the file (no seeding needed).
        self.restored: bool | None = None

    def open(self) -> None:
        """Load the file if there is one and start saving; a second call does nothing."""
        if self.restored is not None:
            return
        self.restored = self.path.exists()
        if self.restored:
            self._load(self.path)
        self._saver = AutoSaver(lambda: self._save(self.path))
        self._saver.start()

    def close(self) -> None:
        """Save a last time and stop saving."""
        if self._saver is not None:
            self._saver.stop()
            self._saver = None
