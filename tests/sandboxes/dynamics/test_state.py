"""A Dataverse sandbox kept across restarts: same rows, and delta links that still work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from sandboxes.dynamics import state
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.dynamics.seed import seed_environment
from sandboxes.dynamics.store import Environment


def _get(sandbox: DynamicsSandbox, url: str, **headers: str) -> dict:
    answer = requests.get(
        url, headers={"Authorization": f"Bearer {sandbox.issue_token()}", **headers}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_restart_keeps_rows_and_delta_links(tmp_path: Path) -> None:
    path = tmp_path / "dataverse.json"
    with DynamicsSandbox(state_path=path) as first:
        assert not first.restored
        counts = seed_environment(first.env)
        assert counts["leads"] == 15 and counts["list members"] == 4
        gone = first.env.create("lead", {"lastname": "Gone", "subject": "s"})
        initial = _get(first, f"{first.api_url}/leads?$select=lastname",
                       Prefer="odata.track-changes")
        delta = initial["@odata.deltaLink"].replace(first.url, "{base}")
        first.env.delete("lead", gone)
    with DynamicsSandbox(state_path=path) as second:
        assert second.restored
        assert len(second.env.rows("lead")) == 15
        kept = second.env.rows("lead")[0]["leadid"]
        second.env.update("lead", kept, {"jobtitle": "CMO"})
        changes = _get(second, delta.format(base=second.url))["value"]
        assert [row.get("leadid") for row in changes if "leadid" in row] == [kept]
        assert [row["id"] for row in changes if row.get("reason") == "deleted"] == [gone]


def test_unreadable_state_is_refused_with_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "dataverse.json"
    path.write_text("{oops")
    with pytest.raises(state.StateError, match="dataverse.json: cannot read"):
        state.load(Environment(), path)
    path.write_text(json.dumps({"format": 1, "tables": {"widget": []}}))
    with pytest.raises(state.StateError, match="does not know: widget"):
        state.load(Environment(), path)
