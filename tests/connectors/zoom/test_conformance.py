"""The conformance suite on ``registrant`` against an in-process ZoomSandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.conformance import ConnectorConformance, changes_of, read_all
from connectors.zoom import ZoomConnector
from sandboxes.zoom.sandbox import ZoomSandbox
from tests.connectors.zoom.sandbox_remote import SandboxRemote, sandbox_settings, schedule


class TestZoomConformance(ConnectorConformance):
    object_name = "registrant"
    required_field = "first_name"
    #: Zoom keeps one registration per email and webinar (see schema.py).
    external_id_field = "email"
    lookup_field = "last_name"
    #: Unused: a cursor holds what was read of each webinar (see test_future_cursor_reads_nothing).
    future_cursor = ""
    webinar_id = ""

    def sample(self, i: int) -> dict[str, Any]:
        return {"webinar_id": self.webinar_id, "email": f"ada{i}@example.com",
                "first_name": f"Ada{i}", "last_name": f"Lovelace{i}", "org": "Engines Ltd"}

    @pytest.fixture
    def connector(self, sandbox: ZoomSandbox) -> Iterator[ZoomConnector]:
        self.webinar_id = schedule(sandbox, "Analytical Engines")
        zoom = ZoomConnector("zoom", sandbox_settings(sandbox))
        yield zoom
        zoom.close()

    @pytest.fixture
    def remote(self, sandbox: ZoomSandbox, connector: ZoomConnector) -> SandboxRemote:
        return SandboxRemote(sandbox, connector)

    @pytest.fixture
    def bad_auth_connector(self, sandbox: ZoomSandbox) -> ZoomConnector:
        return ZoomConnector("zoom", sandbox_settings(sandbox, client_secret="not-the-secret-77"))

    def test_future_cursor_reads_nothing(
        self, connector: ZoomConnector, remote: SandboxRemote
    ) -> None:
        # A cursor says what was read of each webinar, so "beyond anything the remote has" is
        # a freshly issued one: read again from it, nothing has changed.
        self.seed(remote, 2)
        fresh = read_all(connector, self.object_name)[-1].cursor
        assert fresh is not None
        assert changes_of(read_all(connector, self.object_name, fresh)) == []
