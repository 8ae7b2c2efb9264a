"""An account kept in a state file comes back whole after a restart."""

from __future__ import annotations

from pathlib import Path

from sandboxes.zoom.sandbox import ZoomSandbox
from tests.sandboxes.zoom.conftest import Client, path_uuid


def test_webinars_registrants_and_reports_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "zoom.json"
    with ZoomSandbox(state_path=path) as first:
        client = Client(first)
        webinar = client.webinar("Kept")
        client.register(webinar["id"], {"email": "ada@example.com", "first_name": "Ada"})
        client.control("POST", f"/webinars/{webinar['id']}/end", {"participants": [
            {"email": "ada@example.com", "join_time": "2027-01-10T16:00:00Z",
             "leave_time": "2027-01-10T16:30:00Z"}]})
    with ZoomSandbox(state_path=path) as second:
        assert second.restored
        client = Client(second)
        assert client.get(f"/webinars/{webinar['id']}").json()["topic"] == "Kept"
        rows = client.get(f"/report/webinars/{path_uuid(webinar['uuid'])}/participants").json()
        assert rows["participants"][0]["duration"] == 1800
        # New webinars do not reuse a restored id.
        assert client.webinar("New")["id"] != webinar["id"]
