"""``syncline demo --once``: from an empty folder to synced demo systems and true errors."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.dynamics import connector as dynamics_connector
from connectors.salesforce import connector as salesforce_connector
from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS, count, json_lines, rows

MAPPINGS = [
    "dynamics-account", "dynamics-attribution", "dynamics-campaign",
    "dynamics-campaign-response", "dynamics-contact", "dynamics-lead",
    "dynamics-list", "dynamics-list-member", "dynamics-opportunity",
    "dynamics-opportunity-stakeholder", "forms-website",
    "salesforce-account", "salesforce-campaign", "salesforce-campaign-influence",
    "salesforce-campaign-member",
    "salesforce-contact", "salesforce-lead", "salesforce-opportunity",
    "salesforce-opportunity-contact-role", "zoom-person", "zoom-registrant", "zoom-webinar",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _sandbox_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's Salesforce sandbox on a free port (8701 may be taken by a running demo)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DEMO_SALESFORCE_URL", f"http://127.0.0.1:{port}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DEMO_DYNAMICS_URL", f"http://127.0.0.1:{probe.getsockname()[1]}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DEMO_ZOOM_URL", f"http://127.0.0.1:{probe.getsockname()[1]}")
    for name in ("DEMO_SALESFORCE_PASSWORD", "DEMO_SALESFORCE_CLIENT_SECRET",
                 "DEMO_DYNAMICS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
def json_value(value: object) -> dict:
    """A JSON column as a dict (SQLite hands back text, PostgreSQL a dict)."""
    return json.loads(value) if isinstance(value, str) else dict(value or {})  # type: ignore[arg-type]


WRITES = ("created_hub", "updated_hub", "created_remote", "updated_remote")


def test_demo_once_three_times_then_errors_list(
    syncline: Invoke,
    tmp_path: Path,
    hub: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copytree(SHIPPED_MAPPINGS, tmp_path / "mappings", ignore=shutil.ignore_patterns("*.py"))

    first = syncline("demo", "--once", "--json")
    assert first.exit_code == 0, first.output
    assert "wrote instance/connections.yaml" in first.stderr
    assert "seeded " in first.stderr
    assert (tmp_path / "instance" / "connections.yaml").is_file()
    assert (tmp_path / "instance" / "demo" / "salesforce.json").is_file(), "the org is kept"
    reports = {r["mapping"]: r for r in json_lines(first.stdout)}
    assert sorted(reports) == MAPPINGS
    assert all(r["status"] in ("success", "partial") for r in reports.values())
    assert reports["salesforce-lead"]["created_remote"] > 0
    assert reports["salesforce-lead"]["failed"] >= 4
    assert reports["salesforce-campaign-member"]["created_remote"] > 0
    assert reports["salesforce-opportunity"]["created_hub"] > 0
    # Attribution between the pulls and the pushes: its credit is in Salesforce the same run.
    assert reports["salesforce-opportunity-contact-role"]["created_hub"] > 0
    assert reports["salesforce-campaign-influence"]["created_remote"] > 0
    assert reports["salesforce-campaign-influence"]["failed"] == 0
    # Zoom: three webinars as campaigns, their registrants as members and (new ones) people.
    assert reports["zoom-webinar"]["created_hub"] == 3
    assert reports["zoom-registrant"]["created_hub"] > 0
    assert reports["zoom-person"]["created_hub"] > 0
    # The website's signed form posts: people, touches and memberships.
    assert "posted 4 signed form submissions to /hooks/website-forms (4 accepted)" in first.stderr
    assert reports["forms-website"]["created_hub"] + reports["forms-website"]["updated_hub"] > 0

    # Scoring and the lifecycle ran as hub steps: scores from the rules, stage histories.
    people_rows = rows(hub, "person")
    scored = [p for p in people_rows if "fit_score" in json_value(p["attributes"])]
    assert len(scored) == len(people_rows), "every person scored by mappings/scoring.yaml"
    assert count(hub, "lifecycle_history") > 0
    # Seeded engagement, not seeded numbers: some people are MQLs, some qualified by AQL,
    # and their Leads say so in Salesforce.
    assert sum(p["lifecycle_stage"] == "MQL" for p in people_rows) >= 5
    assert sum(bool(p["aql"]) for p in people_rows) >= 1
    org = json.loads((tmp_path / "instance" / "demo" / "salesforce.json").read_text())
    leads = org["tables"]["Lead"]
    leads = leads.values() if isinstance(leads, dict) else leads
    assert sum(lead.get("Status") == "Marketing Qualified" for lead in leads) >= 5
    assert "hub_step.failed" not in first.stderr, first.stderr

    # Dynamics deals, their contact and stakeholders: their credit goes to syncline_attribution.
    assert reports["dynamics-opportunity"]["created_hub"] == 3
    assert reports["dynamics-opportunity-stakeholder"]["created_hub"] == 3
    assert reports["dynamics-attribution"]["created_remote"] > 0
    assert reports["dynamics-attribution"]["failed"] == 0
    assert reports["dynamics-lead"]["created_remote"] > 0
    assert reports["dynamics-list-member"]["created_remote"] > 0, "AddMemberList, per member"
    assert (tmp_path / "instance" / "demo" / "dynamics.json").is_file(), "the environment too"

    # One run converges: every mapping pulls before any pushes, so what Salesforce sent to the
    # hub reached Dynamics in the first run. The second has nothing left to write.
    people = count(hub, "person")
    for run in (2, 3):
        again_run = syncline("demo", "--once", "--json")
        assert again_run.exit_code == 0, again_run.output
        assert "seeded" not in again_run.stderr and "wrote" not in again_run.stderr
        again = {r["mapping"]: r for r in json_lines(again_run.stdout)}
        assert sorted(again) == MAPPINGS
        for name, report in again.items():
            assert {k: report[k] for k in WRITES} == dict.fromkeys(WRITES, 0), (run, name, report)
            assert report["api_calls"] <= 1, (name, "an idle cycle reads once, nothing more")
    second = third = again_run
    assert len(rows(hub, "sync_run")) == 3 * len(MAPPINGS), "one run row per mapping and run"
    assert count(hub, "person") == people, "nobody was created by the quiet runs"

    # A new `syncline demo --once` process has no describe results yet: each remote object
    # is described once more, so a quiet cycle there costs the read and that describe.
    salesforce_connector.forget_describes()
    dynamics_connector.forget_describes()
    cold = {r["mapping"]: r for r in json_lines(syncline("demo", "--once", "--json").stdout)}
    for name, report in cold.items():
        assert {k: report[k] for k in WRITES} == dict.fromkeys(WRITES, 0), name
        assert report["api_calls"] <= 2, (name, "a read and, in a new process, one describe")
    assert max(r["api_calls"] for r in cold.values()) == 2

    listed = syncline("errors", "list")
    assert listed.exit_code == 0, listed.output
    out = listed.stdout
    assert "bad value for restricted picklist field: Podcast" in out
    # Only the value no other key of the pulling row maps to: any other would be refused.
    assert "add a value_map entry for 'Podcast' on LeadSource; allowed: Other (not Web," in out
    assert "priya.raman@podcastnation.io" in out
    assert "A lead being worked needs a phone number so sales can call it." in out
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in out and "hans.mueller@example.de" in out
    assert "company: 265 characters, the hub allows 255" in out and "li.wei@example.cn" in out
    assert "phone_e164" in out and "sam.okafor@brightpath.co" in out
    assert "DUPLICATE_REMOTE_RECORD" in out and "dana.whitfield@northwind.example" in out
    assert "add a value_map entry for 'Podcast' on leadsourcecode" in out  # Dynamics' words
    shown = first.output + second.output + third.output + out
    assert "sandbox-demo-password" not in shown and "sandbox~secret" not in shown


def test_demo_without_mapping_files_uses_the_shipped_ones(
    syncline: Invoke, tmp_path: Path
) -> None:
    result = syncline("demo", "--once", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(r["mapping"] for r in json_lines(result.stdout)) == MAPPINGS
    assert not (tmp_path / "mappings").exists()
