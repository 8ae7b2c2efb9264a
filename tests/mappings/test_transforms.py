"""Transforms one by one, their round-trip properties, and compiled field rows end to end."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import phonenumbers
import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.spec import FieldMap, Mapping
from mappings.transforms import TRANSFORMS, TransformError, compile_row, make_transform

# --- each transform, both directions -----------------------------------------------------------

FORWARD = [
    ("strip", "  Ada  ", "Ada"),
    ("lower", "Ada@Example.COM", "ada@example.com"),
    ("upper", "gb", "GB"),
    ("title", "ada lovelace", "Ada Lovelace"),
    ("title", "\u1fb7", "\u0391\u0342\u0399"),  # str.title needs two passes for this one
    ("lower", 42, 42),  # not text: left alone
    ({"phone_e164": "US"}, "(201) 555-0123", "+12015550123"),
    ("phone_e164", "201.555.0123", "+12015550123"),
    ({"phone_e164": "GB"}, "0121 234 5678", "+441212345678"),
    ({"phone_e164": "gb"}, "+1 201 555 0123", "+12015550123"),
    ("phone_e164", 2015550123, "+12015550123"),
    ("country_name", "UK", "United Kingdom"),
    ("country_name", "usa", "United States"),
    ("country_name", "DEU", "Germany"),
    ("country_name", "South Korea", "Korea, Republic of"),
    ("country_code", "United Kingdom", "GB"),
    ("country_code", "Germany", "DE"),
    ("country_code", "U.S.A.", "US"),
    ("country_code", "fr", "FR"),
    ("country_code", "Viet Nam", "VN"),
    ({"truncate": 3}, "abcdef", "abc"),
    ({"truncate": 3}, "ab", "ab"),
    ("date", date(2024, 2, 29), "2024-02-29"),
    ({"date": "%d/%m/%Y"}, date(2024, 2, 29), "29/02/2024"),
    ({"date": "%d/%m/%Y"}, "2024-02-29", "29/02/2024"),
    ({"date": "%d/%m/%Y"}, datetime(2024, 2, 29, 23, 30), "29/02/2024"),
    ("datetime", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
    ("datetime", datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),
    ("datetime", datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
     "2024-01-02T03:04:05Z"),
    ("datetime", "2024-01-02T03:04:05+00:00", "2024-01-02T03:04:05Z"),
    ({"datetime": "%Y-%m-%d %H:%M"}, "2024-01-02T03:04:05Z", "2024-01-02 03:04"),
    ("sha256", " Ada@Example.com ", hashlib.sha256(b"ada@example.com").hexdigest()),
]

BACKWARD = [
    ("strip", "  Ada  ", "Ada"),
    ("title", "ADA LOVELACE", "Ada Lovelace"),
    ("phone_e164", "+1 (201) 555-0123", "+12015550123"),
    ("country_name", "GB", "United Kingdom"),
    ("country_code", "GB", "United Kingdom"),
    ("country_code", "KR", "South Korea"),
    ("country_code", "VN", "Vietnam"),
    ({"truncate": 3}, "abc", "abc"),
    ("date", "2024-02-29", "2024-02-29"),
    ({"date": "%d/%m/%Y"}, "29/02/2024", "2024-02-29"),
    ({"date": "%d/%m/%Y"}, "2024-02-29T10:00:00.000+0000", "2024-02-29"),  # ISO from an API
    ({"date": "%d/%m/%Y"}, date(2024, 2, 29), "2024-02-29"),
    ("datetime", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+00:00"),
    ("datetime", "2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05+00:00"),
    ({"datetime": "%d/%m/%Y %H:%M"}, "02/01/2024 03:04", "2024-01-02T03:04:00+00:00"),
]


@pytest.mark.parametrize(("spec", "value", "expected"), FORWARD)
def test_forward(spec: Any, value: Any, expected: Any) -> None:
    assert make_transform(spec).forward(value) == expected


@pytest.mark.parametrize(("spec", "value", "expected"), BACKWARD)
def test_backward(spec: Any, value: Any, expected: Any) -> None:
    assert make_transform(spec).backward(value) == expected


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_none_and_blank_become_none_both_ways(name: str, blank: Any) -> None:
    transform = make_transform(name if name != "truncate" else {"truncate": 5})
    assert transform.forward(blank) is None
    assert transform.backward(blank) is None


def test_reversibility_flags() -> None:
    flags = {name: make_transform(name if name != "truncate" else {name: 1}).reversible
             for name in TRANSFORMS}
    assert [name for name, ok in flags.items() if not ok] == ["sha256"]


FAILURES = [
    ("phone_e164", "forward", "12ab", "phone_e164: '12ab' is not a phone number"),
    ("phone_e164", "backward", "555", "phone_e164: '555' is not a phone number"),
    ("country_code", "forward", "Atlantis", "country_code: 'Atlantis' is not a country"),
    ("country_name", "backward", "ZZ", "country_name: 'ZZ' is not a country"),
    ("date", "forward", "next tuesday", "date: 'next tuesday' is not an ISO date or date-time"),
    ("date", "backward", "31/12", "date: '31/12' does not match '%Y-%m-%d'"),
    ("datetime", "backward", "soon", "datetime: 'soon' does not match '%Y-%m-%dT%H:%M:%SZ'"),
    ("sha256", "backward", "ab12", "sha256: 'ab12' cannot be reversed (one-way hash)"),
]


@pytest.mark.parametrize(("name", "direction", "value", "message"), FAILURES)
def test_transform_errors_name_transform_and_value(
    name: str, direction: str, value: Any, message: str
) -> None:
    with pytest.raises(TransformError) as caught:
        getattr(make_transform(name), direction)(value)
    assert str(caught.value) == message
    assert (caught.value.transform, caught.value.value) == (name, value)


BAD_SPECS = [
    ("lowr", "unknown transform 'lowr' (did you mean 'lower'? known: strip, lower, upper, title, "
     "phone_e164, country_name, country_code, truncate, date, datetime, sha256)"),
    ({"lower": True}, "lower: takes no argument (write just 'lower')"),
    ("truncate", "truncate: needs a length of at least 1, e.g. {truncate: 80} (got None)"),
    ({"truncate": "80"}, "truncate: needs a length of at least 1, e.g. {truncate: 80} (got '80')"),
    ({"truncate": 0}, "truncate: needs a length of at least 1, e.g. {truncate: 80} (got 0)"),
    ({"phone_e164": "XX"}, "phone_e164: 'XX' is not a region code (e.g. US, GB, DE)"),
    ({"date": "%m/%d"}, "date: format '%m/%d' must include the year, month and day"),
    ({"date": "dd/mm/yyyy"}, "date: 'dd/mm/yyyy' is not a strftime format (e.g. '%d/%m/%Y')"),
    ({"datetime": "%H %H"}, "datetime: format '%H %H' cannot be read back"),
    ({"a": 1, "b": 2}, "expected a transform name or {name: argument}"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_specs(spec: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        make_transform(spec)
    assert str(caught.value) == message


# --- properties: round trips are stable ---------------------------------------------------------


def _stable(spec: Any, value: Any) -> None:
    transform = make_transform(spec)
    once = transform.forward(value)
    assert transform.forward(transform.backward(once)) == once


@given(st.sampled_from(["strip", "lower", "upper", "title"]), st.text())
def test_normalisers_round_trip(name: str, text: str) -> None:
    _stable(name, text)


@given(st.integers(min_value=1, max_value=20), st.text())
def test_truncate_round_trip(length: int, text: str) -> None:
    _stable({"truncate": length}, text)
    out = make_transform({"truncate": length}).forward(text)
    assert out is None or len(out) <= length


_REGIONS = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r))
_FORMATS = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.RFC3966]


@settings(deadline=None)  # first use loads the library's data files
@given(st.sampled_from(_REGIONS), st.sampled_from(_FORMATS), st.sampled_from(["US", "GB", "DE"]))
def test_phone_round_trip(region: str, fmt: int, default: str) -> None:
    number = phonenumbers.example_number(region)
    text = phonenumbers.format_number(number, fmt)
    _stable({"phone_e164": default}, text)
    assert make_transform({"phone_e164": default}).forward(text) == phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164
    )


@settings(deadline=None)  # first use loads the library's data files
@given(st.sampled_from(["US", "GB", "DE", "FR", "IN", "JP"]))
def test_phone_national_format_uses_default_region(region: str) -> None:
    number = phonenumbers.example_number(region)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    _stable({"phone_e164": region}, national)


_COUNTRIES = list(pycountry.countries)


@settings(deadline=None)  # first use loads the library's data files
@given(
    st.sampled_from(["country_name", "country_code"]),
    st.sampled_from(_COUNTRIES),
    st.sampled_from(["alpha_2", "alpha_3", "name", "common_name", "official_name"]),
    st.booleans(),
)
def test_country_round_trip(name: str, country: Any, attr: str, shout: bool) -> None:
    text = getattr(country, attr, None) or country.name
    text = text.upper() if shout else text
    _stable(name, text)
    expected = country.alpha_2 if name == "country_code" else country.name
    assert make_transform(name).forward(text) == expected


_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y%m%d", "%d %b %Y", "%B %d, %Y"]


@given(st.sampled_from(_DATE_FORMATS), st.dates(min_value=date(1000, 1, 1)))
def test_date_round_trip(fmt: str, value: date) -> None:
    _stable({"date": fmt}, value)
    assert make_transform({"date": fmt}).backward(value.strftime(fmt)) == value.isoformat()


_DATETIME_FORMATS = [
    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S%z"
]


@given(
    st.sampled_from(_DATETIME_FORMATS),
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5))])),
)
def test_datetime_round_trip(fmt: str, value: datetime) -> None:
    _stable({"datetime": fmt}, value)


def test_sha256_is_one_way_but_stable() -> None:
    sha = make_transform("sha256")
    assert not sha.reversible
    assert sha.forward("A@B.com ") == sha.forward("a@b.com")
    assert len(sha.forward("a@b.com")) == 64


# --- compiled rows ------------------------------------------------------------------------------


def _row(**kwargs: Any) -> FieldMap:
    row = FieldMap(**kwargs)
    compile_row(row)
    return row


def test_row_without_transforms_passes_values_through() -> None:
    row = _row(hub="close_date", remote="CloseDate")
    assert row.to_remote({"close_date": date(2024, 1, 2)}) == date(2024, 1, 2)
    assert row.to_hub("2024-01-02") == "2024-01-02"
    assert row.to_remote({}) is None


def test_row_transforms_run_in_order_and_backwards_in_reverse() -> None:
    row = _row(hub="email", remote="Email", transform=["strip", "lower", {"truncate": 5}])
    assert row.to_remote({"email": "  ABCDEFG "}) == "abcde"
    # Backward: truncate (identity), lower, strip.
    assert row.to_hub(" XY ") == "xy"


def test_row_value_map_both_ways() -> None:
    row = _row(hub="country", remote="Country",
               value_map={"US": "United States", "UK": "United Kingdom"})
    assert row.to_remote({"country": "UK"}) == "United Kingdom"
    assert row.to_remote({"country": "France"}) == "France"  # unmapped passes through
    assert row.to_hub("United Kingdom") == "UK"
    assert row.to_hub("France") == "France"


def test_row_value_map_matches_by_text_and_yaml_booleans() -> None:
    row = _row(hub="unsubscribed", remote="OptedOut", value_map={"true": "Yes", "false": "No"})
    assert row.to_remote({"unsubscribed": True}) == "Yes"
    assert row.to_remote({"unsubscribed": False}) == "No"
    assert row.to_hub("Yes") == "true"
    scores = _row(hub="score", remote="Grade", value_map={"1": "A", "2": "B"})
    assert scores.to_remote({"score": 1}) == "A"
    numbers = _row(hub="lifecycle_stage", remote="Stage__c", value_map={"MQL": 1, "SQL": 2})
    assert numbers.to_hub(2) == "SQL"
    assert numbers.to_hub("2") == "SQL"  # the remote sent the number as text


def test_row_value_map_list_reads_every_value_and_writes_the_first() -> None:
    # A Dynamics deal is closed when its statecode is Won or Lost.
    row = _row(hub="is_closed", remote="statecode",
               value_map={"true": ["Won", "Lost"], "false": "Open"})
    assert row.to_hub("Won") == "true"
    assert row.to_hub("Lost") == "true"
    assert row.to_hub("Open") == "false"
    assert row.to_remote({"is_closed": True}) == "Won"
    assert row.to_remote({"is_closed": False}) == "Open"


def test_fallback_reads_the_second_field_only_when_the_first_is_blank() -> None:
    mapping = Mapping(
        name="dynamics-opportunity", connection="dynamics", hub_object="opportunity",
        remote_object="opportunity", direction="to_hub",
        fields=[FieldMap(hub="amount", remote="actualvalue", fallback="estimatedvalue")],
    )
    assert mapping.remote_read_fields() == ["actualvalue", "estimatedvalue"]
    open_deal = {"actualvalue": None, "estimatedvalue": 5000}
    assert mapping.read_fallbacks(open_deal) == {"actualvalue": 5000, "estimatedvalue": 5000}
    won = {"actualvalue": 4200, "estimatedvalue": 5000}
    assert mapping.read_fallbacks(won) == won
    assert mapping.read_fallbacks({"actualvalue": 0, "estimatedvalue": 5000})["actualvalue"] == 0


def test_row_default_stands_in_for_blank() -> None:
    row = _row(hub="company", remote="Company", default="[not provided]", transform=["strip"])
    assert row.to_remote({"company": None}) == "[not provided]"
    assert row.to_remote({"company": "   "}) == "[not provided]"
    assert row.to_remote({"company": "Acme"}) == "Acme"
    assert row.to_hub("[not provided]") is None
    assert row.to_hub(" Acme ") == "Acme"


def test_row_default_stands_in_for_spaces_without_a_strip_transform() -> None:
    # "   " is blank everywhere in Syncline (core.values.blank), not only after a strip.
    row = _row(hub="company", remote="Company", default="[not provided]")
    assert row.to_remote({"company": "   "}) == "[not provided]"
    assert row.to_remote({"company": 0}) == 0, "0 is a value"


def test_row_value_map_then_transform_pipeline() -> None:
    row = _row(hub="country", remote="CountryCode", transform=["country_code"],
               value_map={"GB": "UK"}, rule="to_remote")
    assert row.to_remote({"country": "United Kingdom"}) == "UK"
    assert row.to_hub("UK") == "United Kingdom"


def test_computed_row_uses_expression() -> None:
    row = _row(expr="first_name ~ ' ' ~ last_name", remote="Full_Name__c", rule="to_remote",
               transform=["strip"])
    assert row.to_remote({"first_name": "Ada", "last_name": "Lovelace"}) == "Ada Lovelace"
    assert row.to_remote({"first_name": "Ada", "last_name": None}) == "Ada"
    assert row._expr.names == {"first_name", "last_name"}


def test_row_raises_transform_error() -> None:
    row = _row(hub="phone", remote="Phone", transform=["phone_e164"])
    with pytest.raises(TransformError, match="phone_e164: 'call me' is not a phone number"):
        row.to_remote({"phone": "call me"})
