"""Every Dynamics connector test starts without the process-wide describe cache.

Tests against the sandbox get one per module, its environment reset for each test (a module
may bring its own ``shared_sandbox``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.dynamics.connector import forget_describes
from sandboxes.dynamics.sandbox import DynamicsSandbox


@pytest.fixture(autouse=True)
def _fresh_describes() -> Iterator[None]:
    forget_describes()
    yield
    forget_describes()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: DynamicsSandbox) -> DynamicsSandbox:
    shared_sandbox.state.reset()
    return shared_sandbox
