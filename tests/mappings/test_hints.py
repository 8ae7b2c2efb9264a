"""A restricted-picklist hint only suggests fixes the mapping validator accepts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.base import FieldInfo, ObjectInfo
from connectors.errors import ConnectorError, ErrorKind, PicklistRefusal
from core.errors import InputErrors
from core.hubschema import HubSchema
from mappings.check import check_against_remote
from mappings.hints import fit_hint_to_mapping
from mappings.loader import load_mapping
from mappings.spec import Mapping

Write = Callable[[str, str], Path]

SOURCES = ("Web", "Advertisement", "Trade Show", "Other")
LEAD = {"Lead": ObjectInfo("Lead", "Id", "SystemModstamp", {
    "Id": FieldInfo("Id", "id", createable=False, updateable=False, nillable=False),
    "Email": FieldInfo("Email", "email", length=255),
    "LeadSource": FieldInfo("LeadSource", "picklist", picklist_values=SOURCES,
                            restricted_picklist=True),
})}


def mapping_text(value_map: dict[str, str], rule: str = "two_way") -> str:
    entries = ", ".join(f"{key!r}: {value!r}" for key, value in value_map.items())
    return f"""\
name: sf-lead
connection: crm
hub_object: person
remote_object: Lead
fields:
  - {{hub: email, remote: Email}}
  - {{hub: lead_source, remote: LeadSource, rule: {rule}, value_map: {{{entries}}}}}
"""


def load(write: Write, value_map: dict[str, str], rule: str = "two_way") -> Mapping:
    return load_mapping(write("m.yaml", mapping_text(value_map, rule)),
                        hub_schema=HubSchema.standard())


def refused(value: str) -> ConnectorError:
    """What a connector reports for a value LeadSource refuses (before the engine fits it)."""
    return ConnectorError(
        ErrorKind.VALIDATION, f"Lead Source: bad value for restricted picklist field: {value}",
        code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", field="LeadSource",
        hint="add a value_map entry for it; allowed: " + ", ".join(SOURCES),
        refusal=PicklistRefusal(value, SOURCES))


def suggested(hint: str) -> list[str]:
    """The values a hint offers: the list after "allowed:", before any "(not ...)"."""
    found = re.search(r"allowed: ([^(]*)", hint)
    assert found, hint
    return [value.strip() for value in found.group(1).split(",") if value.strip()]


def passes_validation(write: Write, value_map: dict[str, str], rule: str = "two_way") -> bool:
    """The loader accepts the file and `mappings check` finds no error against describe."""
    try:
        mapping = load(write, value_map, rule)
    except InputErrors:
        return False
    problems = check_against_remote(mapping, LEAD, HubSchema.standard())
    return not [p for p in problems if p.level == "error"]


def test_a_pulling_row_is_offered_only_values_no_other_key_maps_to(write: Write) -> None:
    current = {"Organic Search": "Web", "Paid Social": "Advertisement"}
    hint = fit_hint_to_mapping(refused("Podcast"), load(write, current)).hint or ""

    assert hint.startswith("add a value_map entry for 'Podcast' on LeadSource; allowed: ")
    assert suggested(hint) == ["Trade Show", "Other"]
    assert "(not Web, Advertisement: other value_map keys map to them" in hint
    for value in suggested(hint):
        assert passes_validation(write, {**current, "Podcast": value}), value
    # What the unfitted hint also offered is exactly what the validator refuses.
    assert not passes_validation(write, {**current, "Podcast": "Web"})


def test_when_every_value_is_taken_the_hint_says_to_add_one_in_the_crm(write: Write) -> None:
    current = {"Organic": "Web", "Ads": "Advertisement", "Event": "Trade Show", "Misc": "Other"}
    hint = fit_hint_to_mapping(refused("Podcast"), load(write, current)).hint or ""

    assert "allowed:" not in hint
    assert hint == (
        "every value LeadSource allows is already the target of another value_map key and this "
        "row pulls, so a second key would be refused: add a picklist value for 'Podcast' in "
        "the CRM and map 'Podcast' to it, or make the row rule: to_remote")
    assert all(not passes_validation(write, {**current, "Podcast": v}) for v in SOURCES)
    # Both ways out the hint names pass: the row made to_remote ...
    assert passes_validation(write, {**current, "Podcast": "Web"}, rule="to_remote")
    # ... or a new picklist value added in the CRM, then mapped.
    grown = ObjectInfo("Lead", "Id", "SystemModstamp", {
        **LEAD["Lead"].fields,
        "LeadSource": FieldInfo("LeadSource", "picklist", picklist_values=(*SOURCES, "Podcast"),
                                restricted_picklist=True)})
    mapping = load(write, {**current, "Podcast": "Podcast"})
    assert check_against_remote(mapping, {"Lead": grown}, HubSchema.standard()) == []


def test_a_row_that_only_pushes_is_offered_every_allowed_value(write: Write) -> None:
    current = {"Organic Search": "Web"}
    hint = fit_hint_to_mapping(refused("Podcast"), load(write, current, "to_remote")).hint or ""

    assert suggested(hint) == list(SOURCES) and "(not" not in hint
    assert passes_validation(write, {**current, "Podcast": "Web"}, rule="to_remote")


def test_a_refused_value_an_entry_produced_is_fixed_by_changing_that_entry(write: Write) -> None:
    current = {"Organic Search": "Web", "Podcast": "Podcasts"}  # "Podcasts" is no source
    hint = fit_hint_to_mapping(refused("Podcasts"), load(write, current)).hint or ""

    assert hint.startswith("change the value_map entry 'Podcast' on LeadSource; allowed: ")
    assert "Web" not in suggested(hint)
    assert all(passes_validation(write, {**current, "Podcast": v}) for v in suggested(hint))


@pytest.mark.parametrize("error", [
    ConnectorError(ErrorKind.VALIDATION, "too long", code="STRING_TOO_LONG", field="LeadSource",
                   hint="add a truncate transform"),
    ConnectorError(ErrorKind.VALIDATION, "bad", field="Nope",
                   refusal=PicklistRefusal("x", SOURCES), hint="keep me"),
])
def test_other_errors_keep_their_hint(write: Write, error: ConnectorError) -> None:
    before = error.hint
    assert fit_hint_to_mapping(error, load(write, {"Organic Search": "Web"})).hint == before


def test_mappings_check_offers_the_same_free_values(write: Write, workdir: Path) -> None:
    write("hub.yaml", "person:\n  region: {type: string, choices: [EMEA, APAC, US]}\n")
    schema = HubSchema.load(workdir / "mappings" / "hub.yaml")
    text = """\
name: sf-lead
connection: crm
hub_object: person
remote_object: Lead
fields:
  - {hub: email, remote: Email}
  - {hub: region, remote: Region__c, value_map: {EMEA: Europe, US: Americas}}
"""
    objects = {"Lead": ObjectInfo("Lead", "Id", "SystemModstamp", {
        "Id": FieldInfo("Id", "id", createable=False, updateable=False, nillable=False),
        "Email": FieldInfo("Email", "email", length=255),
        "Region__c": FieldInfo("Region__c", "picklist", restricted_picklist=True,
                               picklist_values=("Europe", "Americas", "Asia")),
    })}
    mapping = load_mapping(write("m.yaml", text), hub_schema=schema)
    [problem] = check_against_remote(mapping, objects, schema)
    assert suggested(problem.message) == ["Asia"]
    fixed = text.replace("US: Americas}", "US: Americas, APAC: Asia}")
    again = load_mapping(write("m.yaml", fixed), hub_schema=schema)
    assert check_against_remote(again, objects, schema) == []
