"""The conformance suite as a connector author outside this repository's tests/ uses it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from connectors.conformance import ConnectorConformance

ROOT = Path(__file__).resolve().parents[2]

#: A connector author's own test module, in their own folder: the memory connector stands in
#: for their connector, with a RemoteControl of their own.
AUTHOR_TESTS = '''
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from connectors.conformance import ConnectorConformance
from connectors.memory import MemoryConnector, MemoryStore


class StoreRemote:
    def __init__(self, connector):
        self.connector, self.store = connector, connector.store

    def seed(self, records):
        return [self.store.create("Lead", r) for r in records]

    def edit(self, key, fields):
        self.store.update("Lead", key, fields)

    def delete(self, key):
        self.store.delete("Lead", key)

    def set_page_size(self, n):
        self.connector.page_size = n

    def purge(self, key):
        self.store.hard_delete("Lead", key)

    def later(self, minutes):
        return datetime.now(UTC)  # the store orders by sequence, not by time

    def inject(self, kind, times=1, retry_after=None):
        self.store.inject(kind, times, retry_after)

    def patch_sleep(self):
        slept = []
        self.connector.retry = replace(self.connector.retry, sleep=slept.append)
        return slept


class TestAcmeConformance(ConnectorConformance):
    object_name = "Lead"
    required_field = "LastName"
    external_id_field = "Syncline_Id__c"
    future_cursor = "999999999999"
    token_endpoint = False

    def sample(self, i):
        return {"FirstName": f"Ada{i}", "LastName": f"Lovelace{i}", "Company": "Engines",
                "Email": f"ada{i}@example.com"}

    @pytest.fixture
    def connector(self):
        return MemoryConnector("acme", {"type": "memory", "store": MemoryStore(api_key="k-1"),
                                        "api_key": "k-1", "max_batch_size": 5})

    @pytest.fixture
    def remote(self, connector):
        return StoreRemote(connector)
'''


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``folder`` as its own project: none of this repository's conftest or config."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder),
         *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_connector_outside_tests_runs_the_whole_suite(tmp_path: Path) -> None:
    (tmp_path / "test_acme.py").write_text(textwrap.dedent(AUTHOR_TESTS), encoding="utf-8")
    result = _pytest(tmp_path, "test_acme.py")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = [name for name in dir(ConnectorConformance) if name.startswith("test_")]
    # Every check ran; the one skip is the bad-credentials check (no such fixture given).
    assert f"{len(checks) - 1} passed, 1 skipped" in result.stdout, result.stdout


def test_the_suite_alone_collects_no_tests(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "--collect-only", str(ROOT / "connectors" / "conformance"))
    assert result.returncode == 5, result.stdout + result.stderr  # pytest: no tests collected
    assert "no tests collected" in result.stdout
