"""The mapping loader: one-line ``file:line keypath: message`` errors; full mappings compiled."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from mappings.expressions import Expression
from mappings.loader import load_mapping, load_mappings, locate

Write = Callable[[str, str], Path]

HEAD = "name: sf-lead\nconnection: crm\nhub_object: person\nremote_object: Lead\n"  # lines 1-4


def _errors(write: Write, hub_schema: HubSchema, text: str) -> list[str]:
    path = write("m.yaml", text)
    with pytest.raises(InputErrors) as caught:
        load_mapping(path, hub_schema=hub_schema, connections={"crm": {}, "mkto": {}})
    return [str(error) for error in caught.value.errors]


KNOWN_ROW_KEYS = "default, expr, fallback, hub, lookup, ref, remote, rule, transform, value_map"

# (id, YAML text, expected errors). Line numbers count from 1; HEAD is lines 1-4.
BROKEN: list[tuple[str, str, list[str]]] = [
    # --- structure -----------------------------------------------------------------------------
    ("unknown row key", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - hub: country
    remote: Country
    valu_map: {UK: United Kingdom}
""", ["mappings/m.yaml:9 fields.country.valu_map: unknown key 'valu_map' "
      f"(known: {KNOWN_ROW_KEYS})"]),
    ("unknown top-level key", HEAD + """\
idenity: {match: [email]}
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:5 idenity: unknown key 'idenity' (known: activity, conflicts, connection, "
      "create, deletes, description, direction, enabled, fields, hub_object, identity, name, "
      "on_field_error, page_size, pull_rule, push_only_linked, remote_object, schedule, "
      "sync_rule)"]),
    ("bad rule", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: company, remote: Company, rule: two-way}
""", ["mappings/m.yaml:7 fields.company.rule: 'two-way' is not a rule (allowed: two_way, "
      "hub_wins, remote_wins, prefer_remote_unless_blank, prefer_hub_unless_blank, to_remote, "
      "to_hub, fill_blank, to_hub_if_blank, forward, none)"]),
    ("bad direction", HEAD + """\
direction: sideways
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:5 direction: 'sideways' is not a direction "
      "(allowed: to_remote, to_hub, both)"]),
    ("bad field error policy", HEAD + """\
on_field_error: skip
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:5 on_field_error: 'skip' is not a field error policy "
      "(allowed: skip_field, fail_record)"]),
    ("bad delete policy", HEAD + """\
deletes:
  from_remote: nuke
  max_fraction: 2
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:6 deletes.from_remote: 'nuke' is not a delete policy (allowed: ignore, "
      "unlink, delete_hub)",
      "mappings/m.yaml:7 deletes.max_fraction: must be at most 1"]),
    ("transform not a list", HEAD + """\
fields:
  - hub: email
    remote: Email
    transform: strip
""", ["mappings/m.yaml:8 fields.email.transform: expected a list"]),
    ("transform item not a name", HEAD + """\
fields:
  - hub: email
    remote: Email
    transform: [strip, 5]
""", ["mappings/m.yaml:8 fields.email.transform[1]: "
      "expected a transform name or {name: argument}"]),
    ("missing remote", HEAD + """\
fields:
  - hub: email
    remote: Email
  - hub: country
    rule: to_hub
""", ["mappings/m.yaml:8 fields.country.remote: required"]),
    ("missing top-level keys", """\
name: sf-lead
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:1 connection: required",
      "mappings/m.yaml:1 hub_object: required",
      "mappings/m.yaml:1 remote_object: required"]),
    ("no field rows", HEAD + "fields: []\n", [
        "mappings/m.yaml:5 fields: needs at least one field row"]),
    ("wrong scalar types", HEAD + """\
enabled: maybe
page_size: 0
fields: [{hub: email, remote: [Email]}]
""", ["mappings/m.yaml:5 enabled: expected true or false",
      "mappings/m.yaml:6 page_size: must be at least 1",
      "mappings/m.yaml:7 fields.email.remote: expected a string"]),
    ("unquoted boolean key", HEAD + """\
fields:
  - hub: unsubscribed
    remote: HasOptedOutOfEmail
    value_map: {true: Y}
""", ["mappings/m.yaml:8 fields.unsubscribed.value_map: "
      "key true must be text: quote it ('true': ...)"]),
    ("not a mapping", "- name: x\n", ["mappings/m.yaml:1: expected a mapping (key: value)"]),
    ("empty file", "# nothing yet\n", [
        "mappings/m.yaml: empty file: expected a mapping with name, connection, hub_object, ..."]),
    ("YAML syntax", HEAD + "fields: [\n", [
        "mappings/m.yaml:6: not valid YAML: expected the node content, but found '<stream end>'"]),
    ("duplicate key", HEAD + "name: again\nfields: [{hub: email, remote: Email}]\n", [
        "mappings/m.yaml:5 name: duplicate key (the earlier value would be silently lost)"]),
    # --- meaning -------------------------------------------------------------------------------
    ("name not kebab-case", HEAD.replace("sf-lead", "SF_Lead") + """\
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:1 name: 'SF_Lead' is not kebab-case (lowercase letters, digits and "
      "dashes, e.g. 'sf-lead')"]),
    ("unknown connection", HEAD.replace("crm", "salesforce") + """\
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:2 connection: no connection named 'salesforce' in the connections file "
      "(known: crm, mkto)"]),
    ("unknown hub object", HEAD.replace("person", "persons") + """\
identity: {match: []}
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:3 hub_object: unknown hub object 'persons' (did you mean 'person'? known: "
      "account, campaign, campaign_influence, campaign_member, opportunity, "
      "opportunity_contact_role, person, touch)"]),
    ("unknown and system hub fields", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: frist_name, remote: FirstName}
  - {hub: updated_at, remote: LastModified__c, rule: to_remote}
  - {hub: shoe_size, remote: Shoe__c}
""", ["mappings/m.yaml:7 fields.frist_name.hub: 'frist_name' is not a field of hub object "
      "'person' (did you mean 'first_name' or 'last_name'?)",
      "mappings/m.yaml:8 fields.updated_at.hub: 'updated_at' is managed by Syncline and cannot be "
      "mapped",
      "mappings/m.yaml:9 fields.shoe_size.hub: 'shoe_size' is not a field of hub object 'person' "
      "(declare custom fields in hub.yaml)"]),
    ("bad transforms", HEAD + """\
fields:
  - hub: email
    remote: Email
    transform: [strip, lowr, {truncate: 0}]
""", ["mappings/m.yaml:8 fields.email.transform[1]: unknown transform 'lowr' (did you mean "
      "'lower'? known: strip, lower, upper, title, phone_e164, country_name, country_code, "
      "truncate, date, datetime, sha256)",
      "mappings/m.yaml:8 fields.email.transform[2]: truncate: needs a length of at least 1, "
      "e.g. {truncate: 80} (got 0)"]),
    ("one-way transform on a two-way row", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: email, remote: Hashed_Email__c, transform: [sha256], rule: hub_wins}
  - {hub: email, remote: Hash2__c, transform: [sha256], rule: to_remote}
""", ["mappings/m.yaml:7 fields.email→Hashed_Email__c.transform[0]: sha256 cannot be reversed, "
      "but this row also pulls (rule hub_wins, direction both); use rule: to_remote",
      "mappings/m.yaml:7 fields.email→Hashed_Email__c.hub: email is already pulled by "
      "fields.email→Email (line 6); a hub field takes one remote source: make one of the rows "
      "rule: to_remote"]),
    ("value_map not reversible", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - hub: country
    remote: Country
    value_map:
      UK: United Kingdom
      GB: United Kingdom
      US: United States
  - {hub: city, remote: City, value_map: {NYC: New York, New York: New York}, rule: to_remote}
""", ["mappings/m.yaml:9 fields.country.value_map: keys 'UK' and 'GB' all map to 'United "
      "Kingdom', so a pulled 'United Kingdom' cannot be mapped back; keep one key or make the "
      "row rule: to_remote"]),
    ("a list value shared by two keys", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: country, remote: Country, rule: to_hub, value_map: {UK: [Britain, England], GB: England}}
  - {hub: city, remote: City, rule: to_hub, value_map: {London: []}}
""", ["mappings/m.yaml:7 fields.country.value_map: keys 'UK' and 'GB' all map to 'England', so "
      "a pulled 'England' cannot be mapped back; keep one key or make the row rule: to_remote",
      "mappings/m.yaml:8 fields.city.value_map: an empty list maps to no remote value; give it "
      "one or more"]),
    ("fallback rows", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: company, remote: Company, fallback: Website}
  - {hub: city, remote: City, rule: to_hub, fallback: City}
""", ["mappings/m.yaml:7 fields.company.fallback: a fallback row only reads (it could not say "
      "which field to write): give it rule: to_hub",
      "mappings/m.yaml:8 fields.city.fallback: the fallback is 'City' itself; name another "
      "field"]),
    ("computed rows", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {expr: "domain(email)", remote: Domain__c}
  - {hub: company, expr: "company | upper", remote: Company, rule: to_remote}
  - {expr: "frist_name ~ ' '", remote: Name__c, rule: to_remote}
  - {expr: "email >", remote: Bad__c, rule: to_remote}
  - {remote: Orphan__c}
""", ["mappings/m.yaml:7 fields.Domain__c.rule: a computed row (expr:) must have rule: to_remote",
      "mappings/m.yaml:8 fields.company.expr: a row has either hub: (a hub field) or expr: "
      "(a computed value)",
      "mappings/m.yaml:9 fields.Name__c.expr: 'frist_name' is not a field of hub object 'person' "
      "(did you mean 'first_name' or 'last_name'?)",
      "mappings/m.yaml:10 fields.Bad__c.expr: syntax error: unexpected 'end of template'",
      "mappings/m.yaml:11 fields.Orphan__c: needs hub: (a hub field) or expr: (a computed value)"]),
    ("ref on a plain field", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: company, remote: AccountId, ref: sf-account}
""", ["mappings/m.yaml:7 fields.company.ref: 'company' is a string field; ref: needs a reference "
      "field (such as account_id)"]),
    ("two sources for a remote field", HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: title, remote: email, rule: to_remote}
  - {hub: city, remote: EMAIL, rule: to_hub}
""", ["mappings/m.yaml:7 fields.title.remote: email is already written by fields.email (line 6); "
      "a remote field takes exactly one source"]),
    ("rule that never runs", HEAD + """\
direction: to_remote
fields:
  - {hub: email, remote: Email}
  - {hub: company, remote: Company, rule: to_hub}
  - {hub: title, remote: Title, rule: none}
""", ["mappings/m.yaml:8 fields.company.rule: rule to_hub never runs in a direction: to_remote "
      "mapping"]),
    ("identity problems", HEAD + """\
identity:
  external_id: Email
  match: [email, phone, emial]
fields:
  - {hub: email, remote: Email}
  - {expr: "phone", remote: Phone, rule: to_remote}
""", ["mappings/m.yaml:6 identity.external_id: Email is also mapped by fields.email (line 9); "
      "the external id holds the hub id and Syncline writes it itself",
      "mappings/m.yaml:7 identity.match[1]: 'phone' has no field row; match fields must be mapped",
      "mappings/m.yaml:7 identity.match[2]: 'emial' is not a field of hub object 'person' (did "
      "you mean 'email'?)"]),
    ("default match field missing", """\
name: sf-account
connection: crm
hub_object: account
remote_object: Account
fields: [{hub: name, remote: Name}]
""", ["mappings/m.yaml:1 identity.match[0]: 'email' is not a field of hub object 'account' "
      "(declare custom fields in hub.yaml) (the default; set identity.match)"]),
    ("rules and schedule", HEAD + """\
schedule: 5x
sync_rule: "scroe >= 50 and id"
pull_rule: "LeadSource !="
fields: [{hub: email, remote: Email}]
""", ["mappings/m.yaml:5 schedule: '5x' is not a schedule: use an interval such as 30s, 5m, "
      "1h30m or 1d, or a 5-field cron line such as '*/15 * * * *'",
      "mappings/m.yaml:6 sync_rule: 'scroe' is not a field of hub object 'person' (did you mean "
      "'score'?)",
      "mappings/m.yaml:7 pull_rule: syntax error: unexpected 'end of template'"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_mapping_errors(
    write: Write, hub_schema: HubSchema, text: str, expected: list[str]
) -> None:
    assert _errors(write, hub_schema, text) == expected


def test_rows_sharing_a_hub_field_are_named_hub_to_remote(
    write: Write, hub_schema: HubSchema
) -> None:
    text = HEAD + """\
fields:
  - {hub: email, remote: Email}
  - {hub: country, remote: Country, valu_map: {}}
  - {hub: country, remote: CountryCode, rule: to_remote}
"""
    assert _errors(write, hub_schema, text) == [
        f"mappings/m.yaml:7 fields.country→Country.valu_map: unknown key 'valu_map' (known: "
        f"{KNOWN_ROW_KEYS})"
    ]


def test_missing_file(workdir: Path, hub_schema: HubSchema) -> None:
    with pytest.raises(InputError) as caught:
        load_mapping("mappings/nope.yaml", hub_schema=hub_schema)
    assert str(caught.value) == "mappings/nope.yaml: file not found"


def test_connections_unchecked_without_connections(write: Write, hub_schema: HubSchema) -> None:
    text = HEAD.replace("crm", "anything") + "fields: [{hub: email, remote: Email}]\n"
    path = write("m.yaml", text)
    assert load_mapping(path, hub_schema=hub_schema).connection == "anything"


# --- a valid, full mapping ----------------------------------------------------------------------

FULL = """\
name: salesforce-lead
connection: salesforce
hub_object: person
remote_object: Lead
direction: both
schedule: 5m
identity: {external_id: Syncline_Id__c, match: [email]}
sync_rule: "email and (score >= 50 or lifecycle_stage in ['MQL', 'SQL'])"
pull_rule: "LeadSource != 'Partner Referral'"
create: {remote: true, hub: true}
deletes: {from_remote: unlink, from_hub: ignore, max_fraction: 0.05}
conflicts: newest_wins
fields:
  - {hub: email,       remote: Email, transform: [strip, lower]}
  - {hub: company,     remote: Company, rule: prefer_remote_unless_blank, default: "[not provided]"}
  - {hub: country,     remote: Country, value_map: {US: United States, UK: United Kingdom}}
  - {hub: country,     remote: CountryCode, transform: [country_code], rule: to_remote}
  - {hub: lead_source, remote: LeadSource, rule: hub_wins}
  - {hub: score,       remote: Lead_Score__c, rule: to_remote}
  - {hub: phone,       remote: Phone, transform: [{phone_e164: GB}]}
  - {hub: nps,         remote: NPS__c, rule: to_hub}
  - {hub: email,       remote: Hashed_Email__c, transform: [sha256], rule: to_remote}
  - expr: "first_name ~ ' ' ~ last_name"
    remote: Full_Name__c
    rule: to_remote
    transform: [strip]
"""

HUB_YAML = "person:\n  nps: {type: integer}\n"


def test_full_mapping_loads_and_rows_work_end_to_end(write: Write) -> None:
    write("hub.yaml", HUB_YAML)
    path = write("salesforce-lead.yaml", FULL)
    schema = HubSchema.load(path.parent / "hub.yaml")
    mapping = load_mapping(path, hub_schema=schema, connections={"salesforce": {}})
    rows = {row.remote: row for row in mapping.fields}
    hub = {"email": " Ada@Example.COM ", "company": None, "country": "UK", "lead_source": "Web",
           "score": 42, "phone": "0121 234 5678", "first_name": "Ada", "last_name": "Lovelace",
           "lifecycle_stage": "SQL", "nps": 9}

    assert {name: row.to_remote(hub) for name, row in rows.items()} == {
        "Email": "ada@example.com",
        "Company": "[not provided]",
        "Country": "United Kingdom",
        "CountryCode": "GB",
        "LeadSource": "Web",
        "Lead_Score__c": 42,
        "Phone": "+441212345678",
        "NPS__c": 9,
        "Hashed_Email__c": hashlib.sha256(b"ada@example.com").hexdigest(),
        "Full_Name__c": "Ada Lovelace",
    }
    assert rows["Company"].to_hub("[not provided]") is None
    assert rows["Company"].to_hub("Acme") == "Acme"
    assert rows["Country"].to_hub("United Kingdom") == "UK"
    assert rows["Country"].to_hub("Germany") == "Germany"
    assert rows["Phone"].to_hub("+44 121 234 5678") == "+441212345678"
    assert rows["Email"].to_hub(" ADA@example.com") == "ada@example.com"

    assert mapping.source == "mappings/salesforce-lead.yaml"
    assert isinstance(mapping._sync_rule, Expression)
    assert mapping.allows_push(hub) is True
    assert mapping.allows_push({**hub, "score": None, "lifecycle_stage": None}) is False
    assert mapping.allows_pull({"LeadSource": "Web"}) is True
    assert mapping.allows_pull({"LeadSource": "Partner Referral"}) is False
    assert mapping.remote_read_fields()[-2:] == ["Full_Name__c", "Syncline_Id__c"]
    assert [hub_field for hub_field, _ in mapping.match_fields()] == ["email"]
    assert locate(mapping, ("fields", 2, "value_map")) == (
        "mappings/salesforce-lead.yaml:16 fields.country→Country.value_map"
    )


def test_rows_without_transforms_keep_python_values(write: Write, hub_schema: HubSchema) -> None:
    path = write("c.yaml", """\
name: campaigns
connection: crm
hub_object: campaign
remote_object: Campaign
identity: {match: [name]}
fields:
  - {hub: name, remote: Name}
  - {hub: start_date, remote: StartDate}
  - {hub: end_date, remote: EndDate, transform: [{date: "%d/%m/%Y"}]}
""")
    mapping = load_mapping(path, hub_schema=hub_schema)
    values = {"name": "Launch", "start_date": date(2024, 5, 1), "end_date": date(2024, 5, 31)}
    start, end = mapping.fields[1], mapping.fields[2]
    assert start.to_remote(values) == date(2024, 5, 1)
    assert end.to_remote(values) == "31/05/2024"
    assert end.to_hub("31/05/2024") == "2024-05-31"


# --- a directory of mappings --------------------------------------------------------------------

ACCOUNT = """\
name: sf-account
connection: crm
hub_object: account
remote_object: Account
identity: {match: [domain]}
fields:
  - {hub: name, remote: Name}
  - {hub: domain, remote: Website}
"""

CONTACT = """\
name: sf-contact
connection: crm
hub_object: person
remote_object: Contact
fields:
  - {hub: email, remote: Email}
  - {hub: account_id, remote: AccountId, ref: sf-account}
"""


def test_load_mappings_reads_every_file_but_hub_yaml(write: Write, workdir: Path) -> None:
    write("hub.yaml", HUB_YAML)
    write("b-contact.yaml", CONTACT)
    write("a-account.yml", ACCOUNT)
    write("notes.txt", "not a mapping")
    write(".draft.yaml", "broken: [")
    mappings = load_mappings(workdir / "mappings", connections={"crm": {}})
    assert list(mappings) == ["sf-account", "sf-contact"]
    assert mappings["sf-contact"].fields[1].ref == "sf-account"


def test_load_mappings_collects_every_error(
    write: Write, workdir: Path, hub_schema: HubSchema
) -> None:
    write("a.yaml", ACCOUNT)
    write("b.yaml", CONTACT.replace("sf-account}", "sf-acount}"))
    write("c.yaml", ACCOUNT.replace("hub: name,", "hub: nam,"))
    write("d.yaml", CONTACT.replace("name: sf-contact", "name: sf-account").replace(
        "ref: sf-account", "ref: sf-lead"))
    write("e.yaml", HEAD + "fields: [{hub: email, remote: Email}]\n")
    write("f.yaml", CONTACT.replace("name: sf-contact", "name: sf-other").replace(
        "ref: sf-account", "ref: sf-lead"))
    write("g.yaml", CONTACT.replace("name: sf-contact", "name: sf-mkto").replace(
        "connection: crm", "connection: mkto"))
    with pytest.raises(InputErrors) as caught:
        load_mappings(workdir / "mappings", hub_schema=hub_schema)
    assert str(caught.value).splitlines() == [
        "mappings/c.yaml:7 fields.nam.hub: 'nam' is not a field of hub object 'account' (did you "
        "mean 'name'?)",
        "mappings/d.yaml:1 name: mapping 'sf-account' is already defined in mappings/a.yaml:1",
        "mappings/b.yaml:7 fields.account_id.ref: no mapping named 'sf-acount' (known: sf-account, "
        "sf-contact, sf-lead, sf-mkto, sf-other)",
        "mappings/f.yaml:7 fields.account_id.ref: mapping 'sf-lead' syncs person, but account_id "
        "points at account",
        "mappings/g.yaml:7 fields.account_id.ref: mapping 'sf-account' uses connection 'crm', "
        "this one 'mkto'; remote ids only make sense on the same connection",
    ]


def test_load_mappings_needs_a_directory(workdir: Path) -> None:
    with pytest.raises(InputError, match="mappings/missing: not a directory"):
        load_mappings(workdir / "mappings" / "missing")


def test_a_ref_may_name_several_mappings_each_checked(
    write: Write, workdir: Path, hub_schema: HubSchema
) -> None:
    write("a.yaml", ACCOUNT)
    write("b.yaml", CONTACT.replace("ref: sf-account}", "ref: [sf-account, sf-acount]}"))
    with pytest.raises(InputErrors) as caught:
        load_mappings(workdir / "mappings", hub_schema=hub_schema)
    [line] = str(caught.value).splitlines()
    assert line.startswith("mappings/b.yaml:7 fields.account_id.ref[1]: no mapping named "
                           "'sf-acount'")
    write("b.yaml", CONTACT.replace("ref: sf-account}", "ref: [sf-account]}"))
    loaded = load_mappings(workdir / "mappings", hub_schema=hub_schema)
    assert loaded["sf-contact"].fields[1].refs == ("sf-account",)


def test_a_lookup_row_only_writes_ids_and_names_an_object_field(
    write: Write, workdir: Path, hub_schema: HubSchema
) -> None:
    row = "  - {hub: lead_source, remote: SourceId__c, lookup: %s}\n"
    write("a.yaml", ACCOUNT)
    write("b.yaml", CONTACT + row % "Source__c")
    with pytest.raises(InputErrors) as caught:
        load_mappings(workdir / "mappings", hub_schema=hub_schema)
    assert str(caught.value).splitlines() == [
        "mappings/b.yaml:8 fields.lead_source.lookup: 'Source__c' should be Object.Field, such as "
        "CampaignInfluenceModel.DeveloperName",
        "mappings/b.yaml:8 fields.lead_source.rule: a lookup row only writes ids: give it rule: "
        "to_remote",
    ]
    write("b.yaml", CONTACT + row % "Source__c.Name, rule: to_remote")
    loaded = load_mappings(workdir / "mappings", hub_schema=hub_schema)
    assert loaded["sf-contact"].fields[2].lookup_target == ("Source__c", "Name")
