"""SIGTERM stops ``syncline scheduler`` within 10 s at any moment, and nothing is lost.

Against the Salesforce sandbox at 300 ms per call, with a big page to pull and 2,500 people to
push through Bulk API 2.0, the scheduler is stopped again and again at different moments: in
the read, in the match lookups, while a Bulk job runs. Each stop must take at most 10 s and exit
0; afterwards every person exists exactly once on each side.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from sandboxes.salesforce.faults import Faults
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.processes import Installation, wait_until

PULL = 2000
PUSH = 2500
#: Seconds after the cycle starts when each stop arrives.
MOMENTS = (0.5, 3.0, 8.0)

LEAD = {
    "name": "sf-person",
    "connection": "sf",
    "hub_object": "person",
    "remote_object": "Lead",
    "schedule": "1h",
    "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
    "deletes": {"brake_floor": 10000},
    "fields": [
        {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
        {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
        {"hub": "company", "remote": "Company", "default": "[not provided]"},
    ],
}


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    with SalesforceSandbox(faults=Faults(latency_ms=300)) as running:
        yield running


@pytest.mark.slow
def test_sigterm_at_any_moment_stops_within_10_s_and_loses_nothing(
    tmp_path: Path, sandbox: SalesforceSandbox
) -> None:
    for i in range(PULL):
        sandbox.org.insert("Lead", {"Email": f"crm{i}@acme.com", "LastName": f"C{i}",
                                    "Company": "Acme"})
    settings = {
        "type": "salesforce", "login_url": sandbox.url, "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret, "username": sandbox.username,
        "password": sandbox.password, "security_token": sandbox.security_token,
    }
    inst = Installation(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", {"sf": settings},
                        {"sf-person": LEAD})
    assert inst.run("init").returncode == 0
    people = tmp_path / "people.csv"
    people.write_text("email,last_name\n" + "".join(f"hub{i}@acme.com,H{i}\n" for i in range(PUSH)))
    assert inst.run("import", "people", str(people)).returncode == 0

    stops: list[float] = []
    for moment in MOMENTS:
        [(last_run,)] = inst.query("SELECT coalesce(max(id), 0) FROM sync_run")
        scheduler = inst.start("scheduler")
        try:
            wait_until(lambda n=last_run: inst.query("SELECT id FROM sync_run WHERE id > :n", n=n),
                       60, "the scheduler's cycle to start")
            time.sleep(moment)
            scheduler.signal(signal.SIGTERM)
            sent = time.monotonic()
            code = scheduler.wait(timeout=30)
            stops.append(time.monotonic() - sent)
        finally:
            scheduler.stop()
        assert code == 0, scheduler.text()
        assert "Traceback" not in scheduler.text()
        [(status,)] = inst.query("SELECT status FROM sync_run ORDER BY id DESC LIMIT 1")
        assert status in ("interrupted", "success", "partial"), status
        assert inst.query("SELECT count(*) FROM sync_lease") == [(0,)], "the lease is given back"
    print("SIGTERM to exit at 300 ms per call: " + ", ".join(f"{s:.1f} s" for s in stops))
    assert max(stops) <= 10, stops

    # Whatever each stop abandoned is done by the next cycles: nothing lost, nothing twice.
    for _ in range(4):
        result = inst.run("sync", "--json", timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        if '"backlog": 0' in result.stdout and '"created_remote": 0' in result.stdout:
            break
    leads = [r for r in sandbox.org.rows("Lead")]
    emails = sorted(str(r["Email"]).lower() for r in leads)
    assert len(emails) == len(set(emails)) == PULL + PUSH, "every person once in Salesforce"
    hub = sorted(r[0] for r in inst.query("SELECT email FROM person"))
    assert hub == emails, "and once in the hub"
    created = [r for r in leads if str(r["Email"]).startswith("hub")]
    assert all(r.get("Syncline_Id__c") for r in created), "every Lead we made carries its hub id"
