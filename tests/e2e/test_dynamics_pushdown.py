"""A pull_rule on a Dynamics mapping is not pushed: Dataverse refuses ``$filter`` on the
change-tracking reads the connector's cursor is, so every change is read and the rule is
checked in the hub, and a dry run says so instead of showing a query.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.base import Connector
from connectors.dynamics import DynamicsConnector
from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.e2e.dynamics_harness import DynamicsHub


@pytest.fixture(scope="module")
def shared_dataverse() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def crm(engine: Engine, tmp_path: Path, shared_dataverse: DynamicsSandbox) -> Iterator[DynamicsHub]:
    shared_dataverse.state.reset()
    yield DynamicsHub(engine, tmp_path, shared_dataverse, ("dynamics-lead",))
    shared_dataverse.state.reset()


def lead(name: str, **values: Any) -> dict[str, Any]:
    return {"firstname": name.title(), "lastname": "Lee", "subject": "Web lead",
            "emailaddress1": f"{name}@acme.com", **values}


def test_the_rule_is_checked_in_the_hub_on_every_lead_read(crm: DynamicsHub) -> None:
    # A rule SOQL could take (a boolean compared with a literal); Dataverse cannot.
    crm.edit_mapping("dynamics-lead", lambda data: data.update(pull_rule="not donotbulkemail"))
    crm.create("lead", lead("ann", donotbulkemail=False))
    crm.create("lead", lead("pat", donotbulkemail=True))
    urls: list[str] = []

    def watch(connector: Connector) -> None:
        assert isinstance(connector, DynamicsConnector)
        real = connector.get_json

        def get_json(path_or_url: str, **kw: Any) -> dict[str, Any]:
            params: Mapping[str, str] = kw.get("params") or {}
            urls.append(path_or_url + "".join(f"&{k}={v}" for k, v in params.items()))
            return real(path_or_url, **kw)

        connector.get_json = get_json  # type: ignore[method-assign]

    crm.on_connect = watch
    dry = crm.run(dry_run=True)

    assert dry.pushdown == [
        "pull_rule not pushed to dynamics: Dataverse refuses $filter on change-tracking reads "
        "(the delta link Syncline's cursor is), so every change is read; the rule is checked here"
    ]
    report = crm.run()

    assert not any("$filter" in url for url in urls if url.startswith("leads"))
    assert report.read == 2, "both leads come over"
    assert [p.email for p in crm.people()] == ["ann@acme.com"], "the rule keeps Pat out"
