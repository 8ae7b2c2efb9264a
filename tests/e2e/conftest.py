"""One Salesforce sandbox per test module (reset per test) and a SalesforceHub over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import core.clock
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.e2e.harness import SalesforceHub


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SalesforceSandbox]:
    # The org keeps the hub's time: a test that stops it (tests.clock.frozen_clock) decides
    # which edits share a second (SystemModstamp has whole seconds) and which follow.
    with SalesforceSandbox(clock=lambda: core.clock.utcnow()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: SalesforceSandbox) -> Iterator[SalesforceSandbox]:
    """The module's sandbox with an empty org, no faults, a fresh API counter and fresh tokens."""
    daily_max = shared_sandbox.limits.daily_max
    shared_sandbox.state.reset()  # a fresh org, no faults, a fresh day
    yield shared_sandbox
    shared_sandbox.limits.daily_max = daily_max
    shared_sandbox.state.reset()


@pytest.fixture
def sf(engine: Engine, tmp_path: Path, sandbox: SalesforceSandbox) -> SalesforceHub:
    """The hub (on SQLite and PostgreSQL), the shipped mappings and the sandbox org."""
    return SalesforceHub(engine, tmp_path, sandbox)
