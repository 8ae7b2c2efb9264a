"""The conformance suite on ``lead`` against an in-process DynamicsSandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.conformance import ConnectorConformance, changes_of, read_all
from connectors.dynamics import DynamicsConnector
from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.connectors.dynamics.sandbox_remote import (
    SandboxRemote,
    sandbox_settings,
    tricky_config,
)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(tricky_config()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: DynamicsSandbox) -> DynamicsSandbox:
    shared_sandbox.state.reset()
    # Dataverse itself enforces only SystemRequired columns; an org whose business rules make
    # lastname mandatory (what the suite's partial-failure check needs) is modelled by this.
    shared_sandbox.env.enforce_application_required = True
    return shared_sandbox


class TestDynamicsConformance(ConnectorConformance):
    object_name = "lead"
    required_field = "lastname"
    external_id_field = "syncline_hubid"
    lookup_field = "emailaddress1"
    #: Unused: a delta link only exists once issued (see test_future_cursor_reads_nothing).
    future_cursor = ""

    def sample(self, i: int) -> dict[str, Any]:
        return {"firstname": f"Ada{i}", "lastname": f"Lovelace{i}",
                "subject": "Analytical Engines", "companyname": "Engines Ltd",
                "emailaddress1": f"ada{i}@example.com", "leadsourcecode": "Web"}

    @pytest.fixture
    def connector(self, sandbox: DynamicsSandbox) -> Iterator[DynamicsConnector]:
        # A small batch size keeps the oversized-batch check quick.
        crm = DynamicsConnector("crm", sandbox_settings(sandbox, max_batch_size=7))
        yield crm
        crm.close()

    @pytest.fixture
    def remote(self, sandbox: DynamicsSandbox, connector: DynamicsConnector) -> SandboxRemote:
        return SandboxRemote(sandbox, connector, "lead")

    @pytest.fixture
    def bad_auth_connector(self, sandbox: DynamicsSandbox) -> DynamicsConnector:
        return DynamicsConnector(
            "crm", sandbox_settings(sandbox, client_secret="not-the-secret-77"))

    def test_future_cursor_reads_nothing(
        self, connector: DynamicsConnector, remote: SandboxRemote
    ) -> None:
        # The "cursor beyond anything the remote has" is a freshly issued delta link: Dataverse
        # refuses links it never issued, so one cannot be written down in advance.
        self.seed(remote, 2)
        fresh = read_all(connector, self.object_name)[-1].cursor
        assert fresh is not None
        assert changes_of(read_all(connector, self.object_name, fresh)) == []

    def test_oversized_batch_is_chunked(self, connector: DynamicsConnector) -> None:
        # Writes need the table's metadata (entity set, option values); a sync has it from
        # its describe already, so the call count below is the write's own.
        connector.describe([self.object_name])
        super().test_oversized_batch_is_chunked(connector)
