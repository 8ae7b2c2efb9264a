"""``syncline mappings check``: the files, then each mapping against its remote's describe()."""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from attribution.engine import settings_in
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.salesforce.sandbox import SalesforceSandbox
from sandboxes.zoom.sandbox import ZoomSandbox
from tests.cli.conftest import Invoke
from tests.cli.helpers import CONNECTIONS, SHIPPED_MAPPINGS, error_lines, write

#: Fields that fit the memory CRM's Lead exactly: no warnings.
CLEAN_MAPPING = """\
name: lead
connection: crm
hub_object: person
remote_object: Lead
identity: {external_id: Syncline_Id__c, match: [email]}
fields:
  - {hub: email, remote: Email, transform: [strip, lower, {truncate: 80}]}
  - {hub: last_name, remote: LastName, default: "[unknown]"}
  - {hub: company, remote: Company, default: "[not provided]"}
  - hub: lead_source
    remote: LeadSource
    value_map: {Organic Search: Web, Event: Trade Show, Podcast: Radio}
"""


def test_check_ok_offline_and_against_describe(syncline: Invoke, project: Path) -> None:
    offline = syncline("mappings", "check", "--offline")
    assert offline.exit_code == 0, offline.output
    assert offline.stdout == (
        "ok       mappings/lead.yaml (lead)\n1 mapping(s) checked, 0 warning(s)\n"
    )

    online = syncline("mappings", "check")
    assert online.exit_code == 0, online.output
    # lead.yaml maps LeadSource without a value_map and FirstName without truncating.
    assert "warning: mappings/lead.yaml:12 fields.lead_source.remote: " in online.stdout
    assert "restricted picklist" in online.stdout
    assert online.stdout.endswith("1 mapping(s) checked, 3 warning(s)\n")
    assert online.stderr == ""


def test_check_of_a_clean_mapping_says_ok(syncline: Invoke, project: Path) -> None:
    write(
        project / "mappings" / "lead.yaml",
        CLEAN_MAPPING.replace(", Podcast: Radio", "").replace("[unknown]", "[none]"),
    )
    result = syncline("mappings", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ok       mappings/lead.yaml (lead ↔ crm.Lead)\n1 mapping(s) checked, 0 warning(s)\n"
    )


def test_value_map_outside_a_restricted_picklist_is_an_error(
    syncline: Invoke, project: Path
) -> None:
    write(project / "mappings" / "lead.yaml", CLEAN_MAPPING)
    result = syncline("mappings", "check")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines[0] == (
        "error: mappings/lead.yaml:12 fields.lead_source.value_map: 'Radio' is not in the "
        "restricted picklist LeadSource; allowed: 'Web', 'Webinar', 'Trade Show', "
        "'Partner Referral', 'Advertisement', 'Other'"
    )
    assert lines[-1] == "error: mappings check: 1 error(s), 0 warning(s)"
    assert "ok " not in result.stdout

    # --offline never asks the remote, so the picklist is not known and the files are fine.
    offline = syncline("mappings", "check", "--offline")
    assert offline.exit_code == 0, offline.output
    assert "ok       mappings/lead.yaml (lead)" in offline.stdout


def test_offline_never_touches_the_remote(syncline: Invoke, project: Path) -> None:
    write(project / "connections.yaml", CONNECTIONS + "  api_key: right\n")
    write(project / "crm.json", '{"format": 1, "seq": 0, "api_key": "other", "objects": {}}')
    assert syncline("mappings", "check", "--offline").exit_code == 0

    online = syncline("mappings", "check")
    assert online.exit_code == 2
    assert "cannot describe Lead on 'crm'" in online.stderr
    assert "INVALID_API_KEY" in online.stderr
    assert "right" not in online.output and "other" not in online.output


def test_offline_still_checks_the_connection_settings(syncline: Invoke, project: Path) -> None:
    write(project / "connections.yaml", CONNECTIONS + "  retry: {max_tries: 0, wait: 2}\n")
    for args in (("--offline",), ()):
        result = syncline("mappings", "check", *args)
        assert result.exit_code == 2, result.output
        assert error_lines(result) == [
            "error: connections.yaml:4 crm.retry.max_tries: must be at least 1",
            "error: connections.yaml:4 crm.retry.wait: unknown key 'wait' "
            "(known: initial_wait, max_tries, max_wait)",
            "error: mappings check: 2 error(s), 0 warning(s)",
        ]
        assert "ok " not in result.stdout


def test_check_reports_file_problems_with_exit_2(syncline: Invoke, project: Path) -> None:
    lead = project / "mappings" / "lead.yaml"
    lead.write_text(lead.read_text().replace("{hub: email,", "{hb: email,"))
    result = syncline("mappings", "check", "--offline")
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert line.startswith("error: mappings/lead.yaml:8 fields.Email.hb: unknown key 'hb'")


def test_check_of_the_shipped_mappings_on_the_demo_connections(
    syncline: Invoke, project: Path
) -> None:
    shutil.rmtree(project / "mappings")
    shutil.copytree(SHIPPED_MAPPINGS, project / "mappings", ignore=shutil.ignore_patterns("*.py"))
    models = [m.name for m in settings_in(project / "mappings").models]
    with SalesforceSandbox() as sandbox, DynamicsSandbox() as dataverse, ZoomSandbox() as zoom:
        write(
            project / "connections.yaml",
            "website-forms:\n  type: webhook\n  scheme: standard\n"
            "  secret: whsec_c3luY2xpbmUtdGVzdC1mb3Jtcy1rZXk=\n"
            f"zoom:\n  type: zoom\n  account_id: {zoom.account_id}\n"
            f"  client_id: {zoom.client_id}\n  client_secret: {zoom.client_secret}\n"
            f"  api_url: {zoom.api_url}\n  token_url: {zoom.token_url}\n"
            f"salesforce:\n  type: salesforce\n  login_url: {sandbox.url}\n"
            f"  client_id: {sandbox.client_id}\n  client_secret: {sandbox.client_secret}\n"
            f"  username: {sandbox.username}\n  password: {sandbox.password}\n"
            f"  security_token: {sandbox.security_token}\n"
            f"dynamics:\n  type: dynamics\n  url: {dataverse.url}\n"
            f"  token_url: {dataverse.token_url}\n  client_id: {dataverse.client_id}\n"
            f"  client_secret: {dataverse.client_secret}\n",
        )
        # An admin has created every Campaign Influence model but one.
        for name in models[:-1]:
            made = requests.post(f"{sandbox.url}/__sandbox__/campaign-influence-models",
                                 json={"DeveloperName": name, "MasterLabel": name})
            assert made.status_code == 201, made.text
        missing = syncline("mappings", "check")
        requests.post(f"{sandbox.url}/__sandbox__/campaign-influence-models",
                      json={"DeveloperName": models[-1], "MasterLabel": models[-1]})
        result = syncline("mappings", "check")
    assert missing.exit_code == 2
    [line] = error_lines(missing)[:1]
    text = (project / "mappings" / "salesforce-campaign-influence.yaml").read_text()
    row = next(n for n, t in enumerate(text.splitlines(), 1) if "lookup:" in t)
    assert line.startswith(
        f"error: mappings/salesforce-campaign-influence.yaml:{row} fields.model.lookup: no "
        f"CampaignInfluenceModel has DeveloperName {models[-1]!r}: create it (for Campaign "
        f"Influence models: Setup > Campaign Influence > Models, API name {models[-1]}"), line
    assert result.exit_code == 0, result.output
    assert "22 mapping(s) checked, 0 warning(s)" in result.stdout, result.stdout
    assert "ok       mappings/zoom-registrant.yaml (zoom-registrant ↔ zoom.registrant)" in (
        result.stdout
    )
    assert "ok       mappings/forms-website.yaml (forms-website ↔ website-forms.submission)" in (
        result.stdout
    )
    assert "ok       mappings/salesforce-lead.yaml (salesforce-lead ↔ salesforce.Lead)" in (
        result.stdout
    )
    assert "ok       mappings/dynamics-lead.yaml (dynamics-lead ↔ dynamics.lead)" in result.stdout
    assert "error" not in result.output


def test_without_a_connections_file_the_files_are_still_checked(
    syncline: Invoke, project: Path
) -> None:
    (project / "connections.yaml").unlink()
    write(project / "mappings" / "contact.yaml", CLEAN_MAPPING.replace("name: lead", (
        "name: contact")).replace("Lead", "Contact").replace("{hub: company,", "{hub: compny,"))
    result = syncline("mappings", "check")
    assert result.exit_code == 2, result.output
    lines = error_lines(result)
    assert lines[0].startswith("error: mappings/contact.yaml:9 fields.compny.hub: ")
    assert "'compny'" in lines[0], "the mapping file's own problem comes first"
    assert result.stdout == "ok       mappings/lead.yaml (lead; connection name not checked)\n"
    assert lines[1].startswith("error: connections.yaml: file not found")
    assert (
        "not checked without a connections file: whether the connections the mappings name "
        "exist; the remote schema checks (fields exist and are writable, lengths, restricted "
        "picklists, required fields) of lead (crm.Lead)\n"
    ) in result.stderr
    assert lines[-1] == (
        "error: mappings check: 1 error(s) in the mapping files; the connections file could "
        "not be used"
    )


def test_without_a_connections_file_valid_files_still_exit_2_unless_offline(
    syncline: Invoke, project: Path
) -> None:
    (project / "connections.yaml").unlink()
    online = syncline("mappings", "check")
    assert online.exit_code == 2, online.output
    assert online.stdout == "ok       mappings/lead.yaml (lead; connection name not checked)\n"
    assert error_lines(online)[-1] == (
        "error: mappings check: mapping files valid; the connections file could not be used")

    # --offline validates files where no connections file is (CI, a review): that is fine.
    offline = syncline("mappings", "check", "--offline")
    assert offline.exit_code == 0, offline.output
    assert offline.stdout == (
        "ok       mappings/lead.yaml (lead; connection name not checked)\n"
        "1 mapping file(s) checked offline, 0 warning(s)\n"
    )
    assert offline.stderr == (
        "not checked without a connections file: whether the connections the mappings name "
        "exist\n"
    )


def test_a_broken_connections_file_is_named_after_the_mapping_files_problems(
    syncline: Invoke, project: Path
) -> None:
    write(project / "connections.yaml", "crm:\n  type: memory\n  path: [unclosed\n")
    lead = project / "mappings" / "lead.yaml"
    lead.write_text(lead.read_text().replace("{hub: email,", "{hb: email,"))
    result = syncline("mappings", "check", "--offline")
    assert result.exit_code == 2, result.output
    lines = error_lines(result)
    assert lines[0].startswith("error: mappings/lead.yaml:8 fields.Email.hb: unknown key 'hb'")
    assert lines[1].startswith("error: connections.yaml:")
    assert lines[-1] == (
        "error: mappings check: 1 error(s) in the mapping files; the connections file could "
        "not be used"
    )
