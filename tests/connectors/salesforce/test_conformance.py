"""The conformance suite on Lead against an in-process SalesforceSandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.conformance import ConnectorConformance
from connectors.salesforce import SalesforceConnector
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.connectors.salesforce.sandbox_remote import (
    SandboxRemote,
    sandbox_settings,
    tricky_config,
)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(tricky_config()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    shared_sandbox.state.reset()
    return shared_sandbox


class TestSalesforceConformance(ConnectorConformance):
    object_name = "Lead"
    required_field = "LastName"
    external_id_field = "Syncline_Id__c"
    future_cursor = "2999-01-01T00:00:00.000Z"

    def sample(self, i: int) -> dict[str, Any]:
        return {"FirstName": f"Ada{i}", "LastName": f"Lovelace{i}",
                "Company": "Analytical Engines", "Email": f"ada{i}@example.com"}

    @pytest.fixture
    def connector(self, sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
        # A small batch size keeps the oversized-batch check quick.
        crm = SalesforceConnector("crm", sandbox_settings(sandbox, max_batch_size=7))
        yield crm
        crm.close()

    @pytest.fixture
    def remote(self, sandbox: SalesforceSandbox, connector: SalesforceConnector,
               monkeypatch: pytest.MonkeyPatch) -> SandboxRemote:
        return SandboxRemote(sandbox, connector, "Lead", monkeypatch)

    @pytest.fixture
    def bad_auth_connector(self, sandbox: SalesforceSandbox) -> SalesforceConnector:
        return SalesforceConnector(
            "crm", sandbox_settings(sandbox, password="not-the-password-77"))
