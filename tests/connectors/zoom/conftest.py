"""Every Zoom connector test starts without the process-wide listing cache.

Tests against the sandbox share one per module, reset for each test, with per-second limits
raised so a quick test never waits out a real second (the rate-limit tests set their own).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.zoom.cache import LISTINGS
from sandboxes.zoom.sandbox import ZoomSandbox
from tests.connectors.zoom.sandbox_remote import tricky_config


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    LISTINGS.clear()
    yield
    LISTINGS.clear()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[ZoomSandbox]:
    with ZoomSandbox(tricky_config()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: ZoomSandbox) -> ZoomSandbox:
    shared_sandbox.state.reset()
    shared_sandbox.limits.set_plan("pro")
    shared_sandbox.limits.configure(light=100_000, medium=100_000, heavy=100_000)
    return shared_sandbox
