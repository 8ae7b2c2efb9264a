"""Syncline as an admin runs it: an installation in a folder, its commands as real processes.

Tests that must see what runs for days (the scheduler following its files, kill -9, SIGTERM,
a database outage) drive ``python -m cli`` subprocesses through this and read what an admin
reads: the database rows, the remote's records and the log lines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc: gunicorn's workers, a demo's scheduler)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Running:
    """A started command: its stderr collected line by line as it comes."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def __post_init__(self) -> None:
        def read() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.lines.append(line.rstrip("\n"))

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first stderr line matching ``pattern`` (a regex), waiting for it if needed."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            assert self.process.poll() is None or any(regex.search(x) for x in self.lines), (
                f"exited with {self.process.returncode} before {pattern!r}:\n{self.text()}"
            )
            return next((m for m in map(regex.search, list(self.lines)) if m), None)

        return wait_until(found, timeout, f"a log line matching {pattern!r}")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._close()
        return code

    def stop(self) -> None:
        """Make sure it is gone (a test's finally: SIGKILL if still running)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.process.stderr is not None and not self.process.stderr.closed:
            self.process.stderr.close()


class Installation:
    """A folder with a connections file, mapping files and a database URL, as an admin has."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        connections: dict[str, Any],
        mappings: dict[str, dict[str, Any]],
        env: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.database_url = database_url
        self.config = folder / "connections.yaml"
        self.config.write_text(yaml.safe_dump(connections, sort_keys=False))
        self.mappings_dir = folder / "mappings"
        self.mappings_dir.mkdir(exist_ok=True)
        for name, data in mappings.items():
            self.write_mapping(name, data)
        self.env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
        for name in ("SYNCLINE_LOG_LEVEL", "SYNCLINE_CONFIG", "SYNCLINE_MAPPINGS"):
            self.env.pop(name, None)
        self.env.update(env or {})

    def write_mapping(self, name: str, data: dict[str, Any]) -> Path:
        path = self.mappings_dir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def command(self, *args: str) -> list[str]:
        return [
            sys.executable, "-m", "cli", "--config", str(self.config),
            "--mappings", str(self.mappings_dir), *args,
        ]

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), env={**self.env, **env}, cwd=self.folder,
            capture_output=True, text=True, timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> Running:
        process = subprocess.Popen(
            self.command(*args), env={**self.env, **env}, cwd=self.folder,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        return Running(process)

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of one SELECT against the installation's database (a fresh connection)."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), params)]
        finally:
            engine.dispose()
