"""A field row put back into the shipped Dynamics lead mapping reaches every linked lead.

The Dataverse side of backfills: the normal pull reads only what its delta link reports, so
a row added after linking reaches the records that change later, unless the cycle backfills
it: the leads are read again from the start where the row pulls, and the hub's values go
out in ``$batch`` requests where it pushes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.e2e.dynamics_harness import DynamicsHub


@pytest.fixture(scope="module")
def shared_dataverse() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def crm(engine: Engine, tmp_path: Path, shared_dataverse: DynamicsSandbox
        ) -> Iterator[DynamicsHub]:
    shared_dataverse.state.reset()
    yield DynamicsHub(engine, tmp_path, shared_dataverse)
    shared_dataverse.state.reset()


def test_a_two_way_row_put_back_is_sent_and_read_for_every_linked_lead(
    crm: DynamicsHub,
) -> None:
    taken: list[dict[str, Any]] = []

    def without_title(data: dict[str, Any]) -> None:
        taken.extend(r for r in data["fields"] if r.get("hub") == "title")
        data["fields"] = [r for r in data["fields"] if r.get("hub") != "title"]

    crm.edit_mapping("dynamics-lead", without_title)
    people = [crm.add_person(email=f"p{n}@acme.com", last_name="P", company="Acme", score=70,
                             aql=True, title=f"Engineer {n}") for n in range(5)]
    crm.create("lead", {"lastname": "Rep", "companyname": "Beta",
                        "emailaddress1": "rep@beta.io", "jobtitle": "Buyer"})
    first = crm.run()
    assert (first.created_remote, first.created_hub) == (5, 1), first.message
    assert crm.run().writes == 0
    assert {crm.lead_by_email(f"p{n}@acme.com").get("jobtitle") for n in range(5)} == {None}

    crm.edit_mapping("dynamics-lead", lambda data: data["fields"].extend(taken))
    report = crm.run()

    assert report.status == "success", report.message
    assert [crm.lead_by_email(f"p{n}@acme.com")["jobtitle"] for n in range(5)] == [
        f"Engineer {n}" for n in range(5)], "sent where Dynamics had none"
    [rep] = [p for p in crm.people() if p.email == "rep@beta.io"]
    assert rep.title == "Buyer", "read where the hub had none"
    assert all(crm.person(p).title for p in people)
    assert report.backfill == ["backfill: 6 records × fields [jobtitle] done"]
    assert crm.run().backfill == []
