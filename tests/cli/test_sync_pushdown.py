"""``syncline sync --dry-run`` shows how the pull_rule went into the remote's query."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS, crm, json_lines, write


def _salesforce_project(project: Path, sandbox: SalesforceSandbox) -> None:
    for name in ("salesforce-lead", "salesforce-contact", "salesforce-account"):
        shutil.copy(SHIPPED_MAPPINGS / f"{name}.yaml", project / "mappings" / f"{name}.yaml")
    (project / "mappings" / "lead.yaml").unlink()
    write(
        project / "connections.yaml",
        f"salesforce:\n  type: salesforce\n  login_url: {sandbox.url}\n"
        f"  client_id: {sandbox.client_id}\n  client_secret: {sandbox.client_secret}\n"
        f"  username: {sandbox.username}\n  password: {sandbox.password}\n"
        f"  security_token: {sandbox.security_token}\n",
    )


def test_a_dry_run_prints_the_soql_the_pull_rule_became(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    with SalesforceSandbox() as sandbox:
        _salesforce_project(project, sandbox)
        with sandbox.state.org_lock:
            leads = (("ann@acme.com", "Web"), ("pat@partner.example", "Partner Referral"))
            for email, source in leads:
                sandbox.org.insert("Lead", {"LastName": "Lee", "Company": "Acme", "Email": email,
                                            "LeadSource": source})

        result = syncline("sync", "--dry-run", "salesforce-lead")
        as_json = syncline("sync", "--dry-run", "--json", "salesforce-lead")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "salesforce-lead (dry run, nothing written)",
        "  pull_rule pushed to salesforce: WHERE IsDeleted = true OR IsConverted = true OR "
        "(LeadSource != 'Partner Referral' OR LeadSource = null)",
        "  the whole rule is checked again on what comes back",
    ]
    assert any("create" in line and "ann@acme.com" in line for line in lines)
    assert "pat@partner.example" not in result.stdout
    [report] = json_lines(as_json.stdout)
    assert report["pushdown"][0].startswith("pull_rule pushed to salesforce: WHERE ")
    assert report["read"] == 1


def test_a_dry_run_names_the_part_of_the_rule_kept_local(
    syncline: Invoke, ready: Engine, project: Path
) -> None:
    lead = project / "mappings" / "lead.yaml"
    rule = "LeadSource != 'Partner Referral' and domain(Email) != 'rival.com'"
    lead.write_text(lead.read_text(encoding="utf-8") + f'pull_rule: "{rule}"\n', encoding="utf-8")
    crm().create("Lead", {"Email": "spy@rival.com", "LastName": "Spy", "Company": "Rival"})

    result = syncline("sync", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:3] == [
        "  pull_rule pushed to crm: WHERE LeadSource != 'Partner Referral' OR LeadSource = null",
        "  kept local: `domain(Email) != 'rival.com'` (the whole rule is checked again on what "
        "comes back)",
    ]
