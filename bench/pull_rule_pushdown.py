"""What a pushed-down pull_rule saves on a Salesforce pull: rows, bytes, calls and seconds.

Seeds ``--leads`` Leads in an in-process Salesforce sandbox, ``--partner-share`` of them
Partner Referrals, then runs the shipped lead mapping's first pull (``direction: to_hub``)
twice on fresh hubs: once with its ``pull_rule`` kept in the hub (as before pushdown), once
pushed into the SOQL. Prints one line per run and the ratios; asserts nothing.

    .venv/bin/python -m bench.pull_rule_pushdown [--leads 20000] [--partner-share 0.5] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from connectors.base import Connector
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.connector import forget_describes
from core import db
from core.hubschema import HubSchema
from jobs import pushdown
from jobs.engine import SyncContext, run_mapping
from mappings.loader import load_mappings
from mappings.pushdown import Pushdown
from sandboxes.salesforce.sandbox import SalesforceSandbox

REPO = Path(__file__).resolve().parents[1]
MAPPINGS = ("salesforce-lead", "salesforce-contact", "salesforce-account")


@dataclass
class Run:
    """One first pull: what came over the wire and what the hub made of it."""

    mode: str
    rows: int = 0
    response_bytes: int = 0
    calls: int = 0
    seconds: float = 0.0
    created_hub: int = 0


@contextmanager
def counting(run: Run) -> Iterator[None]:
    """Count the calls and response bytes of every request this process sends."""
    original = HTTPAdapter.send

    def send(adapter: HTTPAdapter, request: PreparedRequest, *args: Any, **kw: Any) -> Response:
        response = original(adapter, request, *args, **kw)
        if "/oauth2/" not in str(request.url):
            run.calls += 1
            run.response_bytes += len(response.content)
            if "/query" in str(request.url):
                run.rows += len(response.json().get("records") or [])
        return response

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]


@contextmanager
def kept_in_the_hub() -> Iterator[None]:
    """No part of any pull_rule goes into the query: the engine as it was before pushdown."""
    real = pushdown.split
    pushdown.split = lambda rule, fields: Pushdown(rule or "", None, ())  # type: ignore[assignment]
    try:
        yield
    finally:
        pushdown.split = real  # type: ignore[assignment]


def seed(sandbox: SalesforceSandbox, leads: int, partner_share: float) -> None:
    partners = round(leads * partner_share)
    with sandbox.state.org_lock:
        sandbox.org.duplicate_rules_on = False
        for i in range(leads):
            source = "Partner Referral" if i < partners else "Web"
            sandbox.org.insert("Lead", {"FirstName": f"Lead{i}", "LastName": "Bench",
                                        "Company": f"Company {i % 97}", "Title": "Buyer",
                                        "Email": f"lead{i}@bench{i % 13}.example",
                                        "LeadSource": source})


def first_pull(sandbox: SalesforceSandbox, mode: str) -> Run:
    """A fresh hub and the lead mapping's first pull, counted."""
    folder = Path(tempfile.mkdtemp(prefix="bench-pushdown-"))
    try:
        shutil.copy(REPO / "mappings" / "hub.yaml", folder / "hub.yaml")
        for name in MAPPINGS:
            data = yaml.safe_load((REPO / "mappings" / f"{name}.yaml").read_text())
            if name == "salesforce-lead":  # the pull alone: nothing goes back out
                data["direction"] = "to_hub"
                data["fields"] = [row for row in data["fields"] if row.get("rule") != "to_remote"]
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        engine = db.make_engine(f"sqlite:///{folder / 'hub.db'}")
        db.init_db(engine)
        schema = HubSchema.load(folder / "hub.yaml")
        settings = {"type": "salesforce", "login_url": sandbox.url,
                    "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
                    "username": sandbox.username, "password": sandbox.password,
                    "security_token": sandbox.security_token}

        def connect(name: str) -> Connector:
            return SalesforceConnector(name, settings)

        ctx = SyncContext(engine, load_mappings(folder, hub_schema=schema), schema, connect)
        run = Run(mode)
        forget_describes()
        started = time.perf_counter()
        with counting(run):
            report = run_mapping(ctx, "salesforce-lead", trigger="manual")
        run.seconds = time.perf_counter() - started
        run.created_hub = report.created_hub
        engine.dispose()
        return run
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--partner-share", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with SalesforceSandbox() as sandbox:
        seed(sandbox, args.leads, args.partner_share)
        with kept_in_the_hub():
            local = first_pull(sandbox, "rule kept in the hub")
        pushed = first_pull(sandbox, "rule pushed into SOQL")
    if args.json:
        print(json.dumps({"leads": args.leads, "partner_share": args.partner_share,
                          "runs": [asdict(local), asdict(pushed)]}))
        return
    print(f"{args.leads:,} Leads, {args.partner_share:.0%} Partner Referrals; first pull")
    for run in (local, pushed):
        print(f"  {run.mode:<24} {run.rows:>8,} rows {run.response_bytes / 1e6:>8.1f} MB "
              f"{run.calls:>4} calls {run.seconds:>7.1f} s  {run.created_hub:,} people")
    if pushed.rows:
        print(f"  pushed / kept: rows {pushed.rows / local.rows:.2f}, "
              f"bytes {pushed.response_bytes / local.response_bytes:.2f}, "
              f"seconds {pushed.seconds / local.seconds:.2f}")


if __name__ == "__main__":
    main()
