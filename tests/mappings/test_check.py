"""Checking a loaded mapping against a hand-built ``describe()`` result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.base import FieldInfo, ObjectInfo
from core.hubschema import HubField, HubSchema
from mappings.check import Problem, check_against_remote
from mappings.loader import load_mapping
from mappings.spec import Mapping

Write = Callable[[str, str], Path]

HEAD = """\
name: sf-lead
connection: crm
hub_object: person
remote_object: Lead
"""  # lines 1-4

ID = FieldInfo("Id", "id", createable=False, updateable=False, nillable=False)


def _lead(*fields: FieldInfo) -> dict[str, ObjectInfo]:
    every = {f.name: f for f in (ID, *fields)}
    return {"Lead": ObjectInfo("Lead", "Id", "SystemModstamp", every)}


def _load(write: Write, text: str, hub_schema: HubSchema | None = None) -> Mapping:
    path = write("m.yaml", text)
    return load_mapping(path, hub_schema=hub_schema or HubSchema.standard())


def _check(
    write: Write, text: str, objects: dict[str, ObjectInfo], hub_schema: HubSchema | None = None
) -> list[str]:
    schema = hub_schema or HubSchema.standard()
    return [str(p) for p in check_against_remote(_load(write, text, schema), objects, schema)]


EMAIL = FieldInfo("Email", "email", length=255)


def test_clean_mapping_has_no_problems(write: Write) -> None:
    text = HEAD + "fields: [{hub: email, remote: Email}]\n"
    assert _check(write, text, _lead(EMAIL)) == []


def test_missing_remote_object(write: Write) -> None:
    text = HEAD + "fields: [{hub: email, remote: Email}]\n"
    objects = {"Leads": ObjectInfo("Leads", "Id", "SystemModstamp", {})}
    problems = check_against_remote(_load(write, text), objects, HubSchema.standard())
    assert problems == [Problem(
        "error",
        "mappings/m.yaml:4 remote_object",
        "connection 'crm' has no object 'Lead' (did you mean 'Leads'? known: 'Leads')",
    )]


def test_missing_remote_fields_suggest_names(write: Write) -> None:
    text = HEAD + """\
fields:
  - {hub: email, remote: email}
  - {hub: company, remote: Compnay}
  - {hub: title, remote: Nope__c}
"""
    assert _check(write, text, _lead(EMAIL, FieldInfo("Company", length=255))) == [
        "mappings/m.yaml:6 fields.email.remote: error: Lead has no field 'email'; did you mean "
        "'Email'? (names are case-sensitive)",
        "mappings/m.yaml:7 fields.company.remote: error: Lead has no field 'Compnay'; did you "
        "mean 'Company'?",
        "mappings/m.yaml:8 fields.title.remote: error: Lead has no field 'Nope__c'",
    ]


def test_writability(write: Write) -> None:
    text = HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: score, remote: Score__c}
  - {hub: lead_source, remote: LeadSource}
  - {hub: lifecycle_stage, remote: Status}
  - {hub: title, remote: Formula__c, rule: to_hub}
"""
    objects = _lead(
        EMAIL,
        FieldInfo("Score__c", "integer", createable=False, updateable=False),
        FieldInfo("LeadSource", length=80, updateable=False),
        FieldInfo("Status", length=40, createable=False),
        FieldInfo("Formula__c", length=128, createable=False, updateable=False),  # pulled only
    )
    assert _check(write, text, objects) == [
        "mappings/m.yaml:7 fields.score.remote: error: Lead.Score__c is read-only; make the row "
        "rule: to_hub",
        "mappings/m.yaml:8 fields.lead_source.remote: warning: Lead.LeadSource is set on create "
        "only; later changes won't reach it",
        "mappings/m.yaml:9 fields.lifecycle_stage.remote: warning: Lead.Status cannot be set on "
        "create, only by later updates",
    ]


def test_lengths(write: Write) -> None:
    text = HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: company, remote: Company}
  - {hub: title, remote: Title, transform: [{truncate: 100}]}
  - {hub: city, remote: City, transform: [{truncate: 40}]}
  - {hub: country, remote: CountryCode, transform: [country_code], rule: to_remote}
  - {hub: state, remote: State, value_map: {CA: California}, rule: to_remote}
"""
    objects = _lead(
        FieldInfo("Email", "email", length=80),
        FieldInfo("Company", length=255),
        FieldInfo("Title", length=50),
        FieldInfo("City", length=40),
        FieldInfo("CountryCode", length=2),
        FieldInfo("State", length=5),
    )
    assert _check(write, text, objects) == [
        "mappings/m.yaml:6 fields.email.remote: warning: hub email holds up to 255 characters, "
        "Email only 80: longer values will fail; add {truncate: 80} as the last transform",
        "mappings/m.yaml:8 fields.title.transform[0]: warning: truncates to 100 characters, "
        "Title only 50: longer values will fail; add {truncate: 50} as the last transform",
        # City truncates to exactly its length and country_code gives 2 letters: no warning.
        "mappings/m.yaml:11 fields.state.remote: warning: hub state holds up to 80 characters, "
        "State only 5: longer values will fail; add {truncate: 5} as the last transform",
        "mappings/m.yaml:11 fields.state.value_map: error: 'California' is longer than State "
        "holds (5 characters)",
    ]


COUNTRIES = tuple(f"Country {n}" for n in range(20))


def test_restricted_picklists(write: Write) -> None:
    text = HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: country, remote: Country, value_map: {UK: United Kingdom, US: United States}}
  - {hub: lead_source, remote: LeadSource}
  - {hub: lifecycle_stage, remote: Status__c, value_map: {MQL: Open}}
"""
    objects = _lead(
        EMAIL,
        FieldInfo("Country", "picklist", picklist_values=("United States", *COUNTRIES),
                  restricted_picklist=True),
        FieldInfo("LeadSource", "picklist", picklist_values=("Web", "Event"),
                  restricted_picklist=True),
        FieldInfo("Status__c", "picklist", picklist_values=("Open", "Closed")),  # not restricted
    )
    first = ", ".join(repr(v) for v in ("United States", *COUNTRIES[:14]))
    assert _check(write, text, objects) == [
        "mappings/m.yaml:7 fields.country.value_map: error: 'United Kingdom' is not in the "
        f"restricted picklist Country; allowed: {first} … and 6 more",
        "mappings/m.yaml:8 fields.lead_source.remote: warning: LeadSource is a restricted "
        "picklist and this row has no value_map: hub values outside it will fail; allowed: "
        "'Web', 'Event'",
    ]


def test_a_value_an_open_picklist_does_not_list_is_a_warning(write: Write) -> None:
    # Salesforce stores it, but nobody can pick it or report on it: the org lacks the value.
    text = HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: lead_status, remote: Status, value_map: {Open: Open, MQL: Marketing Qualified}}
"""
    hub = HubSchema.standard()
    hub.objects["person"]["lead_status"] = HubField("lead_status", custom=True)
    objects = _lead(EMAIL, FieldInfo("Status", "picklist", picklist_values=("Open", "Closed")))
    assert _check(write, text, objects, hub) == [
        "mappings/m.yaml:7 fields.lead_status.value_map: warning: 'Marketing Qualified' is not "
        "among the values of the picklist Status; add it there, or map to one of: 'Open', "
        "'Closed'",
    ]


def test_hub_choices_must_be_covered(write: Write, workdir: Path) -> None:
    write("hub.yaml", "person:\n  region: {type: string, choices: [EMEA, UK, US]}\n")
    schema = HubSchema.load(workdir / "mappings" / "hub.yaml")
    text = HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: region, remote: Region__c, value_map: {EMEA: Europe}}
"""
    objects = _lead(EMAIL, FieldInfo("Region__c", "picklist", restricted_picklist=True,
                                     picklist_values=("Europe", "US")))
    # 'Europe' is EMEA's already and the row pulls: suggesting it would break the one-to-one
    # rule the loader enforces.
    assert _check(write, text, objects, schema) == [
        "mappings/m.yaml:7 fields.region.value_map: error: add a value_map entry for 'UK' on "
        "Region__c; allowed: US (not Europe: other value_map keys map to it and this row pulls)",
    ]


def test_required_on_create(write: Write) -> None:
    text = HEAD + """\
create: {remote: true, hub: false}
fields:
  - {hub: email, remote: Email}
  - {hub: company, remote: Company}
  - {hub: first_name, remote: FirstName, default: "-"}
"""
    objects = _lead(
        EMAIL,
        FieldInfo("Company", length=255, required=True, nillable=False),
        FieldInfo("FirstName", length=80, required=True, nillable=False),
        FieldInfo("LastName", length=80, required=True, nillable=False),
        FieldInfo("Owner__c", required=True, createable=False),  # set by the remote itself
    )
    assert _check(write, text, objects) == [
        "mappings/m.yaml:5 create.remote: error: Lead requires LastName on create but no row "
        "writes it; add {hub: last_name, remote: LastName} or set create: {remote: false}",
        "mappings/m.yaml:8 fields.company.remote: warning: Company is required on create: "
        'records with a blank company will fail; add default: (e.g. default: "[not provided]")',
    ]
    no_create = text.replace("create: {remote: true", "create: {remote: false")
    assert _check(write, no_create, objects) == []


def test_external_id(write: Write) -> None:
    text = HEAD + """\
identity: {external_id: Syncline_Id__c}
fields: [{hub: email, remote: Email}]
"""
    missing = _check(write, text, _lead(EMAIL))
    assert missing == [
        "mappings/m.yaml:5 identity.external_id: error: Lead has no field 'Syncline_Id__c'"
    ]
    plain = _check(write, text, _lead(EMAIL, FieldInfo("Syncline_Id__c", length=32)))
    assert plain == [
        "mappings/m.yaml:5 identity.external_id: warning: Lead.Syncline_Id__c is neither an "
        "external id nor unique: a create repeated after a crash could duplicate the record"
    ]
    flagged = FieldInfo("Syncline_Id__c", length=32, external_id=True)
    assert _check(write, text, _lead(EMAIL, flagged)) == []


def test_pull_rule_names_must_exist(write: Write) -> None:
    text = HEAD + """\
pull_rule: "LeadSorce != 'Partner' and Email"
fields: [{hub: email, remote: Email}]
"""
    objects = _lead(EMAIL, FieldInfo("LeadSource", length=80))
    assert _check(write, text, objects) == [
        "mappings/m.yaml:5 pull_rule: error: Lead has no field 'LeadSorce'; did you mean "
        "'LeadSource'?"
    ]


TYPE_CASES = [
    ("{hub: unsubscribed, remote: X}", FieldInfo("X", "string", length=10),
     "fields.unsubscribed.remote: warning: hub unsubscribed is boolean but X is string"),
    ("{hub: score, remote: X}", FieldInfo("X", "string", length=10),
     "fields.score.remote: warning: hub score is integer but X is string"),
    ("{hub: title, remote: X}", FieldInfo("X", "number"),
     "fields.title.remote: warning: hub title is string but X is number"),
    ("{hub: unsubscribed, remote: X, value_map: {'true': Y, 'false': N}}",
     FieldInfo("X", "string", length=1), None),
    ("{hub: score, remote: X}", FieldInfo("X", "number"), None),
    ("{hub: title, remote: X}", FieldInfo("X", "picklist", length=128), None),
]


@pytest.mark.parametrize(("row", "remote", "expected"), TYPE_CASES)
def test_type_sanity(write: Write, row: str, remote: FieldInfo, expected: str | None) -> None:
    text = HEAD + f"fields:\n  - {{hub: email, remote: Email}}\n  - {row}\n"
    problems = _check(write, text, _lead(EMAIL, remote))
    hint = "; add a value_map or transform, or map a field of a matching type"
    assert problems == ([] if expected is None else [f"mappings/m.yaml:7 {expected}{hint}"])
