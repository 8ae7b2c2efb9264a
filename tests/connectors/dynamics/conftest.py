"""Every Dynamics connector test starts without the process-wide describe cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.dynamics.connector import forget_describes


@pytest.fixture(autouse=True)
def _fresh_describes() -> Iterator[None]:
    forget_describes()
    yield
    forget_describes()
