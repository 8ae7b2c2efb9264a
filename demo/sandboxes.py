"""The sandboxes the demo's connections point at: started here unless one already answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from demo.connections import DYNAMICS_STATE, SALESFORCE_STATE, ZOOM_STATE

if TYPE_CHECKING:
    from cli.context import App
    from sandboxes.dynamics.sandbox import DynamicsSandbox
    from sandboxes.salesforce.sandbox import SalesforceSandbox
    from sandboxes.zoom.sandbox import ZoomSandbox


def _address(app: App, connection: str, key: str, port: int) -> tuple[str, int]:
    url = urlsplit(str(app.connections.get(connection)[key]))
    return url.hostname or "127.0.0.1", url.port or port


def salesforce_address(app: App) -> tuple[str, int]:
    """Host and port of the demo's Salesforce sandbox, from the connections file."""
    return _address(app, "salesforce", "login_url", 8701)


def dynamics_address(app: App) -> tuple[str, int]:
    """Host and port of the demo's Dataverse sandbox, from the connections file."""
    return _address(app, "dynamics", "url", 8702)


def zoom_address(app: App) -> tuple[str, int]:
    """Host and port of the demo's Zoom sandbox, from the connections file."""
    return _address(app, "zoom", "api_url", 8703)


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
        return True  # someone runs it already (`syncline sandbox ...`): use theirs
    except requests.ConnectionError:
        return False


@dataclass
class DemoSandboxes:
    """The sandboxes this demo process started (None: one already answered, or not ours)."""

    salesforce: SalesforceSandbox | None = None
    dynamics: DynamicsSandbox | None = None
    zoom: ZoomSandbox | None = None

    def stop(self) -> None:
        """Stop them; each saves its data for the next run."""
        for sandbox in (self.salesforce, self.dynamics, self.zoom):
            if sandbox is not None:
                sandbox.stop()


def start_sandboxes(app: App) -> DemoSandboxes:
    """Start the Salesforce, Dataverse and Zoom sandboxes the demo connections point at."""
    from sandboxes.dynamics.sandbox import DynamicsSandbox
    from sandboxes.salesforce.sandbox import SalesforceSandbox
    from sandboxes.zoom.sandbox import ZoomSandbox

    started = DemoSandboxes()
    try:
        host, port = salesforce_address(app)
        if not _answers(f"http://{host}:{port}/services/data/"):
            started.salesforce = SalesforceSandbox(
                host=host, port=port, state_path=SALESFORCE_STATE
            ).start()
        host, port = dynamics_address(app)
        if not _answers(f"http://{host}:{port}/api/data/v9.2/"):
            started.dynamics = DynamicsSandbox(
                host=host, port=port, state_path=DYNAMICS_STATE
            ).start()
        host, port = zoom_address(app)
        if not _answers(f"http://{host}:{port}/__sandbox__/state"):
            started.zoom = ZoomSandbox(host=host, port=port, state_path=ZOOM_STATE).start()
    except BaseException:
        started.stop()
        raise
    return started
