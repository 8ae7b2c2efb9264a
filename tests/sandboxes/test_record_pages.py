"""The CRMs' record pages the dashboard links to ("open in dynamics") answer in the sandboxes."""

from __future__ import annotations

import requests

from connectors.dynamics import DynamicsConnector
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.connectors.dynamics.sandbox_remote import sandbox_settings


def test_the_dynamics_link_the_connector_draws_shows_the_record() -> None:
    with DynamicsSandbox() as sandbox:
        lead = sandbox.env.create("lead", {"lastname": "<Hopper>", "subject": "Compilers"})
        connector = DynamicsConnector("crm", sandbox_settings(sandbox))
        url = connector.ui_url("lead", lead)
        assert url is not None
        page = requests.get(url, timeout=10)
        gone = requests.get(url.replace(lead, "00000000-0000-0000-0000-000000000000"), timeout=10)
        connector.close()
    assert page.status_code == 200
    assert "&lt;Hopper&gt;" in page.text and "<Hopper>" not in page.text
    assert gone.status_code == 404 and "No such record" in gone.text


def test_the_lightning_link_shows_the_salesforce_record() -> None:
    with SalesforceSandbox() as sandbox:
        with sandbox.state.org_lock:
            lead = sandbox.org.insert("Lead", {"LastName": "Lovelace", "Company": "Acme"})
        page = requests.get(f"{sandbox.url}/lightning/r/Lead/{lead}/view", timeout=10)
        gone = requests.get(f"{sandbox.url}/lightning/r/Lead/00Q000000000000AAA/view",
                            timeout=10)
    assert page.status_code == 200 and "Lovelace" in page.text
    assert gone.status_code == 404
