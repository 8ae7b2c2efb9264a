"""A fresh SalesforceSandbox for each test that asks for one (a module may bring its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandboxes.salesforce.sandbox import SalesforceSandbox


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as running:
        yield running
