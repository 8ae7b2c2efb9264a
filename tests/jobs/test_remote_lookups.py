"""``lookup:`` rows: a hub value names a remote record by a field, and its id is written.

As a Campaign Influence row names its model: ``w_shaped`` in the hub, an org-specific id in
Salesforce. A name the remote does not know fails the record with a hint saying what to create,
and the record goes through by itself on a retry once an admin has created it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.memory.connector import MemoryConnector
from connectors.memory.store import MemoryStore
from tests.jobs.harness import Harness, mapping

SCHEMA = {
    "Source__c": {"key_prefix": "a0S", "fields": {"Name": {"type": "string", "length": 80}}},
    "Lead": {"fields": {"SourceId__c": {"type": "reference", "length": 18}}},
}


def _lead_mapping() -> dict:
    data = mapping(direction="to_remote")
    data["fields"].append({"hub": "lead_source", "remote": "SourceId__c",
                           "lookup": "Source__c.Name", "rule": "to_remote"})
    return data


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    store = MemoryStore()
    store.extend_schema(SCHEMA)
    return Harness(engine, tmp_path, _lead_mapping(), stores={"crm": store})


def test_the_id_of_the_named_record_is_written(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, list[str]]] = []
    lookup = MemoryConnector.lookup

    def spy(self: MemoryConnector, obj: str, field: str, values: Any, **kw: Any) -> Any:
        if obj == "Source__c":
            asked.append((field, list(values)))
        return lookup(self, obj, field, values, **kw)

    monkeypatch.setattr(MemoryConnector, "lookup", spy)
    webinar = h.crm.create("Source__c", {"Name": "Webinar"})
    h.add_person(email="ada@example.com", last_name="Lovelace", lead_source="webinar")
    h.add_person(email="alan@example.com", last_name="Turing", lead_source="Webinar")

    report = h.run()

    assert report.status == "success", report.message
    assert {lead["Email"]: lead["SourceId__c"] for lead in h.leads()} == {
        "ada@example.com": webinar, "alan@example.com": webinar}
    # One query for the page, each spelling asked once; the remote compares without case.
    assert asked == [("Name", ["Webinar", "webinar"])]


def test_an_unknown_name_fails_its_record_until_the_remote_has_it(h: Harness) -> None:
    person = h.add_person(email="ada@example.com", last_name="Lovelace", lead_source="Podcast")

    h.run()

    assert h.leads() == []
    [error] = h.errors("retrying")
    assert (error.hub_id, error.code) == (person, "UNRESOLVED_REFERENCE")
    assert error.message == "SourceId__c: no Source__c has Name 'Podcast' there"
    assert error.hint is not None and error.hint.startswith("create the Source__c whose Name")

    podcast = h.crm.create("Source__c", {"Name": "Podcast"})
    h.make_retries_due()
    h.run()

    assert [lead["SourceId__c"] for lead in h.leads()] == [podcast]
    assert h.errors("open", "retrying") == []
