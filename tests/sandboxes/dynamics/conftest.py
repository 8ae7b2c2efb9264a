"""A fresh DynamicsSandbox for each test that asks for one (a module may bring its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandboxes.dynamics.sandbox import DynamicsSandbox


@pytest.fixture
def sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as running:
        yield running
