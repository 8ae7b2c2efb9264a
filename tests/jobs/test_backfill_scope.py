"""What a cycle backfills: field rows' fingerprints against the stored ones, and resyncs."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.errors import InputError
from core.hubschema import HubSchema
from core.models import MappingField
from jobs.backfill.fingerprint import field_fingerprints
from jobs.backfill.scope import Resync, due, finish, request, resolve_fields
from mappings.loader import load_mappings
from mappings.spec import Mapping

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _lead(folder: Path, change: Any = None) -> Mapping:
    """The shipped Salesforce lead mapping, changed by ``change`` (its YAML data)."""
    folder.mkdir(exist_ok=True)
    shutil.copy(REPO / "mappings" / "hub.yaml", folder / "hub.yaml")
    data = yaml.safe_load((REPO / "mappings" / "salesforce-lead.yaml").read_text())
    if change is not None:
        change(data)
    (folder / "salesforce-lead.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    schema = HubSchema.load(folder / "hub.yaml")
    return load_mappings(folder, hub_schema=schema)["salesforce-lead"]


def _stored(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {r.remote_field: r.fingerprint for r in session.exec(select(MappingField))}


def _settle(engine: Engine, mapping: Mapping) -> None:
    with Session(engine) as session:
        found = due(session, mapping)
        assert found is not None
        finish(session, found, now=NOW, run_id=None)
        session.commit()


def test_fingerprints_are_stable_and_change_with_the_row_alone(tmp_path: Path) -> None:
    one = field_fingerprints(_lead(tmp_path / "a"))
    again = field_fingerprints(_lead(tmp_path / "b"))
    assert one == again, "the same file gives the same fingerprints in any process"

    def upper_city(data: dict[str, Any]) -> None:
        next(r for r in data["fields"] if r["hub"] == "city")["transform"].append("upper")

    changed = field_fingerprints(_lead(tmp_path / "c", upper_city))
    assert [name for name in one if one[name] != changed[name]] == ["City"]

    def to_remote_only(data: dict[str, Any]) -> None:
        data["direction"] = "to_remote"

    flows = field_fingerprints(_lead(tmp_path / "d", to_remote_only))
    assert flows["Title"] != one["Title"], "a row that stops pulling moves other values"
    assert flows["Score__c"] == one["Score__c"], "a to_remote row moves the same values"


def test_a_mapping_seen_first_is_stored_without_a_backfill(
    engine: Engine, tmp_path: Path
) -> None:
    mapping = _lead(tmp_path / "m")
    with Session(engine) as session:
        found = due(session, mapping)
    assert found is not None and (found.fields, found.store) == ([], True)
    _settle(engine, mapping)
    assert _stored(engine) == field_fingerprints(mapping)
    with Session(engine) as session:
        assert due(session, mapping) is None, "an unchanged mapping owes nothing"


def test_a_new_or_changed_row_is_backfilled_and_a_removed_one_forgotten(
    engine: Engine, tmp_path: Path
) -> None:
    _settle(engine, _lead(tmp_path / "before"))

    def change(data: dict[str, Any]) -> None:
        data["fields"] = [r for r in data["fields"] if r["hub"] != "state"]
        next(r for r in data["fields"] if r["hub"] == "title")["transform"] = [{"truncate": 60}]
        data["fields"].append({"hub": "lifecycle_stage", "remote": "Rating", "rule": "none"})
        data["fields"].append({"hub": "account_id", "remote": "Website", "rule": "to_remote"})

    after = _lead(tmp_path / "after", change)
    with Session(engine) as session:
        found = due(session, after)
    assert found is not None
    assert (found.fields, found.since) == (["Title", "Website"], None), (
        "a `none` row moves nothing: nothing to backfill")
    _settle(engine, after)
    stored = _stored(engine)
    assert "State" not in stored and stored == field_fingerprints(after)


def test_resyncs_add_their_fields_and_the_earliest_date(engine: Engine, tmp_path: Path) -> None:
    mapping = _lead(tmp_path / "m")
    _settle(engine, mapping)
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    with Session(engine) as session:
        request(session, mapping, Resync(("Score__c",), late), by="a", now=NOW)
        request(session, mapping, Resync(("Title",), early), by="b", now=NOW)
        session.commit()
        found = due(session, mapping)
    assert found is not None
    assert (found.fields, found.since, len(found.requests)) == (["Title", "Score__c"], early, 2)


def test_unknown_fields_name_the_file_and_the_fields_that_sync(tmp_path: Path) -> None:
    mapping = _lead(tmp_path / "m")
    assert resolve_fields(mapping, ["score", "Title"]) == ("Score__c", "Title")
    with pytest.raises(InputError) as caught:
        resolve_fields(mapping, ["Shoe_Size__c"])
    assert caught.value.where.endswith("salesforce-lead.yaml")
    assert "'Shoe_Size__c' is not a field row of mapping 'salesforce-lead'" in caught.value.message
    assert "valid: Email (email), FirstName (first_name)" in caught.value.message
