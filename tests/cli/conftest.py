"""CLI fixtures: a fresh working directory and hub database per test, and a ``syncline`` runner.

Every test runs in its own ``tmp_path`` (the working directory) with DATABASE_URL on a SQLite
file in it; tests that request ``db_url`` run on SQLite and PostgreSQL instead. Projects are
written as files (connections.yaml, mappings/*.yaml) with memory connectors keeping their
records in JSON files under the working directory, so state persists between invocations.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from cli import context as cli_context
from cli import main
from connectors.memory.store import MemoryStore
from core.db import make_engine
from tests.cli.helpers import CONNECTIONS, LEAD_MAPPING, SHIPPED_MAPPINGS


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Own working directory, own SQLite hub, no shared memory stores, logging restored."""
    for name in ("SYNCLINE_CONFIG", "SYNCLINE_MAPPINGS", "SYNCLINE_LOG_LEVEL", "DEMO_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    MemoryStore.forget_shared()
    logger = logging.getLogger("syncline")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    MemoryStore.forget_shared()
    # `syncline` points its log handler at the runner's (now closed) stderr: put things back.
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


Invoke = Callable[..., Result]


@pytest.fixture
def syncline(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run ``syncline ARGS...`` in-process; unexpected exceptions propagate to the test.

    A real ``syncline`` process ends after one command, closing its database connections;
    in-process, the engines it made are disposed after each invocation instead.
    """
    runner = CliRunner()
    engines: list[Engine] = []

    def tracked(url: str | None = None) -> Engine:
        engine = make_engine(url)
        engines.append(engine)
        return engine

    monkeypatch.setattr(cli_context, "make_engine", tracked)

    def invoke(*args: str, env: dict[str, str | None] | None = None, color: bool = False) -> Result:
        """``color=True``: output as a terminal would get it (click strips no ANSI codes)."""
        try:
            return runner.invoke(main, list(args), env=env, catch_exceptions=False, color=color)
        finally:
            while engines:
                engines.pop().dispose()

    return invoke


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """connections.yaml (one memory CRM in crm.json), mappings/hub.yaml and mappings/lead.yaml."""
    (tmp_path / "connections.yaml").write_text(CONNECTIONS, encoding="utf-8")
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(SHIPPED_MAPPINGS / "hub.yaml", folder / "hub.yaml")
    (folder / "lead.yaml").write_text(LEAD_MAPPING, encoding="utf-8")
    return tmp_path


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on the database DATABASE_URL names, for looking at what the CLI wrote.

    Tests that also request ``db_url`` run on SQLite and PostgreSQL: DATABASE_URL is set to it.
    """
    if "db_url" in request.fixturenames:
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("db_url"))
    engine = make_engine(os.environ["DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def ready(syncline: Invoke, project: Path, hub: Engine) -> Engine:
    """A project whose hub database was created by ``syncline init``."""
    result = syncline("init")
    assert result.exit_code == 0, result.output
    return hub
