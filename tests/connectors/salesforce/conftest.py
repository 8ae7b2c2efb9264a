"""Every Salesforce connector test starts without the process-wide describe cache.

Tests against the sandbox get one per module, its org reset for each test (a module may
bring its own ``shared_sandbox``, on another configuration).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.salesforce.connector import forget_describes
from sandboxes.salesforce.sandbox import SalesforceSandbox


@pytest.fixture(autouse=True)
def _fresh_describes() -> Iterator[None]:
    forget_describes()
    yield
    forget_describes()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    shared_sandbox.state.reset()
    return shared_sandbox
