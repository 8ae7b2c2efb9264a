"""``syncline demo --once``: from an empty folder to synced demo systems and true errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS, count, json_lines, rows

MAPPINGS = ["crm-account", "crm-lead", "webinar-registrant"]
WRITES = ("created_hub", "updated_hub", "created_remote", "updated_remote")


def test_demo_once_twice_then_errors_list(
    syncline: Invoke,
    tmp_path: Path,
    hub: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEMO_CRM_API_KEY", raising=False)
    shutil.copytree(SHIPPED_MAPPINGS, tmp_path / "mappings", ignore=shutil.ignore_patterns("*.py"))

    first = syncline("demo", "--once", "--json")
    assert first.exit_code == 0, first.output
    assert "wrote instance/connections.yaml" in first.stderr
    assert "seeded " in first.stderr
    assert (tmp_path / "instance" / "connections.yaml").is_file()
    assert (tmp_path / "instance" / "demo" / "crm.json").is_file()
    reports = {r["mapping"]: r for r in json_lines(first.stdout)}
    assert sorted(reports) == MAPPINGS
    assert all(r["status"] in ("success", "partial") for r in reports.values())
    assert reports["crm-lead"]["created_remote"] > 0
    assert reports["crm-lead"]["failed"] >= 4
    assert reports["webinar-registrant"]["created_hub"] > 0
    people = count(hub, "person")

    second = syncline("demo", "--once", "--json")
    assert second.exit_code == 0, second.output
    assert "seeded" not in second.stderr and "wrote" not in second.stderr
    again = {r["mapping"]: r for r in json_lines(second.stdout)}
    assert sorted(again) == MAPPINGS
    for name, report in again.items():
        assert {k: report[k] for k in WRITES} == dict.fromkeys(WRITES, 0), name
    assert count(hub, "person") == people
    assert len(rows(hub, "sync_run")) == 6

    listed = syncline("errors", "list")
    assert listed.exit_code == 0, listed.output
    out = listed.stdout
    assert "bad value for restricted picklist field: Podcast" in out
    assert "priya.raman@podcastnation.io" in out
    assert "STRING_TOO_LONG" in out and "hans.mueller@example.de" in out
    assert "phone_e164" in out and "sam.okafor@brightpath.co" in out
    assert "DUPLICATE_REMOTE_RECORD" in out and "dana.whitfield@northwind.example" in out
    assert out.count("        fix: ") == 4
    assert "demo-crm-key-2026" not in first.output + second.output + out


def test_demo_without_mapping_files_uses_the_shipped_ones(
    syncline: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEMO_CRM_API_KEY", raising=False)
    result = syncline("demo", "--once", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(r["mapping"] for r in json_lines(result.stdout)) == MAPPINGS
    assert not (tmp_path / "mappings").exists()
