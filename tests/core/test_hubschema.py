from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from core.hubschema import SYSTEM_FIELDS, HubField, HubSchema
from core.models import Campaign, Person
from core.values import normalise_email


def load(tmp_path: Path, text: str) -> HubSchema:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    return HubSchema.load(path)


def test_standard_fields_come_from_the_tables() -> None:
    schema = HubSchema.standard()
    person = schema.fields("person")
    assert list(person)[:3] == ["email", "first_name", "last_name"]
    assert person["email"] == HubField("email", "string", max_length=255)
    assert person["score"].type == "integer"
    assert person["unsubscribed"].type == "boolean"
    assert (person["account_id"].type, person["account_id"].ref) == ("ref", "account")
    assert schema.fields("campaign")["start_date"].type == "date"
    assert schema.fields("campaign")["cost"].type == "number"
    assert schema.fields("touch")["occurred_at"].type == "datetime"
    assert schema.fields("touch")["detail"].type == "json"
    role = schema.fields("opportunity_contact_role")
    assert (role["person_id"].type, role["person_id"].ref) == ("ref", "person")
    for fields in schema.objects.values():
        assert not SYSTEM_FIELDS & set(fields)
    with pytest.raises(KeyError):
        schema.fields("lead")


def test_load_without_a_file_is_the_standard_schema(tmp_path: Path) -> None:
    assert HubSchema.load(None) == HubSchema.standard()
    assert HubSchema.load(tmp_path / "absent.yaml") == HubSchema.standard()


def test_custom_fields_follow_the_standard_ones(tmp_path: Path) -> None:
    schema = load(
        tmp_path,
        "person:\n"
        "  segment: {type: string, max_length: 20, choices: [SMB, Enterprise], label: Segment}\n"
        "  nps:\n"
        "    type: integer\n"
        "  notes:\n"
        "campaign: {}\n",
    )
    person = schema.fields("person")
    assert list(person)[-3:] == ["segment", "nps", "notes"]
    assert person["segment"] == HubField(
        "segment", "string", custom=True, max_length=20, choices=("SMB", "Enterprise")
    )
    assert person["notes"] == HubField("notes", "string", custom=True)
    assert schema.source == str(tmp_path / "hub.yaml")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("person: [\n", ":2", "not valid YAML"),
        ("- person\n", "", "expected a mapping of hub object"),
        ("lead:\n  x: {}\n", ":1 lead", "unknown hub object (known: account, campaign"),
        ("person: [a]\n", ":1 person", "expected a mapping of field name"),
        ("person:\n  email: {type: string}\n", ":2 person.email", "is a standard field"),
        ("person:\n  2nd: {}\n", ":2 person.2nd", "letters, digits and underscores"),
        ("person:\n  x: [string]\n", ":2 person.x", "expected {type: ..."),
        ("person:\n  x: {kind: string}\n", ":2 person.x.kind", "unknown key(s): kind"),
        ("\nperson:\n  x: {type: money}\n", ":3 person.x.type", "unknown type 'money'"),
        ("person:\n  x: {type: ref}\n", ":2 person.x.type", "unknown type 'ref'"),
    ],
)
def test_load_errors_name_the_place(tmp_path: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load(tmp_path, text)
    assert caught.value.where == f"{tmp_path / 'hub.yaml'}{where}"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("string", "abc", "abc"),
        ("string", 12, "12"),
        ("string", "", ""),
        ("integer", "42", 42),
        ("integer", " 7 ", 7),
        ("integer", 42.0, 42),
        ("integer", "1e3", 1000),
        ("integer", True, 1),
        ("integer", "", None),
        ("number", "2.5", 2.5),
        ("number", 3, 3.0),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("boolean", False, False),
        ("date", "2024-03-01", date(2024, 3, 1)),
        ("date", "2024-03-01T10:00:00Z", date(2024, 3, 1)),
        ("date", datetime(2024, 3, 1, 23, 0, tzinfo=UTC), date(2024, 3, 1)),
        ("datetime", "2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("datetime", "2024-03-01T10:00:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (
            "datetime",
            datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 3, 1, 10, tzinfo=UTC),
        ),
        ("json", {"a": [1]}, {"a": [1]}),
        ("integer", None, None),
    ],
)
def test_coerce(kind: str, given: object, expected: object) -> None:
    result = HubField("f", kind).coerce(given)
    assert result == expected
    assert type(result) is type(expected)
    if isinstance(result, datetime):
        assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "given", "message"),
    [
        (HubField("f", "string", max_length=3), "abcd", "f: 4 characters, the hub allows 3"),
        (HubField("f", choices=("A", "B")), "C", "f: 'C' is not one of ['A', 'B']"),
        (HubField("f", "integer"), "4.5", "f: '4.5' is not a whole number"),
        (HubField("f", "number"), "lots", "f: 'lots' is not a number"),
        (HubField("f", "number"), True, "f: True is not a number"),
        (HubField("f", "boolean"), "maybe", "f: 'maybe' is not true or false"),
        (HubField("f", "date"), "01/03/2024", "f: '01/03/2024' is not a date (YYYY-MM-DD)"),
        (HubField("f", "datetime"), "soon", "f: 'soon' is not a date-time"),
    ],
)
def test_coerce_errors_name_the_field(field: HubField, given: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        field.coerce(given)
    assert str(caught.value) == message


def test_coerce_non_numeric_integer_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^f: 'three' is not a whole number$"):
        HubField("f", "integer").coerce("three")


def test_set_get_and_values(tmp_path: Path) -> None:
    schema = load(tmp_path, "person:\n  nps: {type: integer}\n  since: {type: date}\n")
    person = Person()
    assert schema.set(person, "email", "  Ada@Example.COM ") is True
    assert person.email == "ada@example.com"
    assert schema.set(person, "email", "ada@example.com") is False
    original = person.attributes
    assert schema.set(person, "nps", "9") is True
    assert person.attributes == {"nps": 9}
    assert person.attributes is not original  # reassigned, so SQLAlchemy sees the change
    assert schema.set(person, "nps", 9) is False
    assert schema.set(person, "since", "2024-03-01") is True
    assert person.attributes["since"] == "2024-03-01"  # JSON-friendly in attributes
    assert schema.get(person, "nps") == 9
    assert schema.get(person, "first_name") is None
    values = schema.values(person)
    assert values["id"] == person.id and values["nps"] == 9 and values["email"] == "ada@example.com"
    campaign = Campaign()
    assert schema.set(campaign, "start_date", "2024-05-01") is True
    assert campaign.start_date == date(2024, 5, 1)
    with pytest.raises(ValueError):
        schema.set(person, "score", "many")


@pytest.mark.parametrize(
    ("given", "expected"),
    [(" A@B.com ", "a@b.com"), ("", None), ("   ", None), (None, None)],
)
def test_normalise_email(given: str | None, expected: str | None) -> None:
    assert normalise_email(given) == expected


@given(st.text())
def test_normalise_email_is_idempotent(text: str) -> None:
    once = normalise_email(text)
    assert normalise_email(once) == once


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_integers_survive_text_round_trips(number: int) -> None:
    field = HubField("n", "integer")
    assert field.coerce(str(number)) == number
    assert field.coerce(float(number)) == number
