"""The Salesforce error table, the per-record hints, and one composite call with mixed results."""

from __future__ import annotations

import json

import pytest
import responses

from connectors.base import OutboundRecord, WriteStatus
from connectors.errors import ErrorKind
from connectors.salesforce.errors import ERROR_TABLE, record_error, rest_error, rule_for
from connectors.salesforce.schema import object_info
from tests.connectors.salesforce.fakes import add_json, add_token, connector, lead_describe

LEAD = object_info(lead_describe())


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("INVALID_SESSION_ID", ErrorKind.AUTH),
        ("REQUEST_LIMIT_EXCEEDED", ErrorKind.RATE_LIMITED),
        ("UNABLE_TO_LOCK_ROW", ErrorKind.TRANSIENT),
        ("SERVER_UNAVAILABLE", ErrorKind.TRANSIENT),
        ("ALL_OR_NONE_OPERATION_ROLLED_BACK", ErrorKind.TRANSIENT),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", ErrorKind.VALIDATION),
        ("REQUIRED_FIELD_MISSING", ErrorKind.VALIDATION),
        ("STRING_TOO_LONG", ErrorKind.VALIDATION),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ErrorKind.VALIDATION),
        ("INVALID_EMAIL_ADDRESS", ErrorKind.VALIDATION),
        ("NUMBER_OUTSIDE_VALID_RANGE", ErrorKind.VALIDATION),
        ("INVALID_TYPE_ON_FIELD_IN_RECORD", ErrorKind.VALIDATION),
        ("INVALID_CROSS_REFERENCE_KEY", ErrorKind.VALIDATION),
        ("MALFORMED_ID", ErrorKind.VALIDATION),
        ("DUPLICATES_DETECTED", ErrorKind.DUPLICATE),
        ("DUPLICATE_VALUE", ErrorKind.DUPLICATE),
        ("ENTITY_IS_DELETED", ErrorKind.NOT_FOUND),
        ("NOT_FOUND", ErrorKind.NOT_FOUND),
        ("INVALID_FIELD", ErrorKind.CONFIG),
        ("INVALID_FIELD_FOR_INSERT_UPDATE", ErrorKind.CONFIG),
        ("INSUFFICIENT_ACCESS_OR_READONLY", ErrorKind.PERMISSION),
        ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", ErrorKind.PERMISSION),
        ("CANNOT_UPDATE_CONVERTED_LEAD", ErrorKind.CONFLICT),
        ("MALFORMED_QUERY", ErrorKind.SYSTEM),
        ("INVALID_QUERY_FILTER_OPERATOR", ErrorKind.SYSTEM),
    ],
)
def test_table_kind_per_code(code: str, kind: ErrorKind) -> None:
    assert code in ERROR_TABLE
    rule = rule_for(code)
    assert rule.kind is kind
    assert rule.hint  # every row names a fix, not just a kind


@pytest.mark.parametrize(("spelling", "kind"), [
    # The Bulk API 2.0 "Errors" page writes CamelCase names; REST bodies upper-case ones.
    ("InvalidJob", ErrorKind.SYSTEM),
    ("INVALIDJOB", ErrorKind.SYSTEM),
    ("InvalidJobState", ErrorKind.SYSTEM),
    ("ExceededQuota", ErrorKind.RATE_LIMITED),
    ("EXCEEDED_QUOTA", ErrorKind.RATE_LIMITED),
    ("FeatureNotEnabled", ErrorKind.PERMISSION),
    ("MULTIPLE_RECORDS_FOUND", ErrorKind.DUPLICATE),  # the WSDL's ExceptionCode for a 300
])
def test_documented_bulk_and_exception_codes_in_any_spelling(spelling: str, kind: ErrorKind
                                                            ) -> None:
    rule = rule_for(spelling, 400)
    assert rule.kind is kind and rule.hint


def test_an_unknown_code_keeps_falling_back_on_the_status() -> None:
    assert rule_for("SomethingNew", 400).kind is ErrorKind.VALIDATION
    assert rule_for("SomethingNew", 503).kind is ErrorKind.TRANSIENT


def test_unknown_codes_fall_back_on_the_status() -> None:
    assert rule_for("SOMETHING_NEW", 503).kind is ErrorKind.TRANSIENT
    assert rule_for("SOMETHING_NEW", 404).kind is ErrorKind.NOT_FOUND
    assert rule_for("SOMETHING_NEW").kind is ErrorKind.SYSTEM


def test_rest_error_keeps_salesforce_words() -> None:
    error = rest_error(400, [{"message": "No such column 'Foo' on entity 'Lead'",
                              "errorCode": "INVALID_FIELD", "fields": ["Foo"]}])
    assert (error.kind, error.code, error.status, error.field) == (
        ErrorKind.CONFIG, "INVALID_FIELD", 400, "Foo")
    assert error.message == "No such column 'Foo' on entity 'Lead'"
    html = rest_error(502, "<html>Bad gateway</html>")
    assert html.kind is ErrorKind.TRANSIENT and "502" in html.message


def test_picklist_hint_names_value_field_and_allowed_values() -> None:
    error = record_error(
        [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
          "message": "Country: bad value for restricted picklist field: UK",
          "fields": ["Country__c"]}], LEAD, {"Country__c": "UK"})
    assert error.kind is ErrorKind.VALIDATION and error.field == "Country__c"
    assert error.message == "Country: bad value for restricted picklist field: UK"
    assert error.hint is not None
    assert error.hint.startswith(
        "add a value_map entry for 'UK' on Country__c; allowed: Canada, France, Germany")
    # 14 allowed values: the first twelve are shown, the rest counted.
    assert "Uruguay" not in error.hint and "… (2 more)" in error.hint


def test_picklist_hint_without_describe_reads_the_value_from_the_message() -> None:
    error = record_error({"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          "message": "Lead Source: bad value for restricted picklist field: Foo",
                          "fields": ["LeadSource"]})
    assert error.hint == "add a value_map entry for 'Foo' on LeadSource"


def test_string_too_long_hint_gives_the_max_length() -> None:
    error = record_error({"statusCode": "STRING_TOO_LONG",
                          "message": "Company: data value too large: xxx (max length=255)",
                          "fields": ["Company"]}, LEAD, {"Company": "x" * 300})
    assert error.hint == ("add a truncate transform on Company (max length 255) or shorten "
                          "the value in the hub")


def test_required_field_hint_names_the_field() -> None:
    error = record_error({"statusCode": "REQUIRED_FIELD_MISSING",
                          "message": "Required fields are missing: [LastName]",
                          "fields": ["LastName"]}, LEAD, {})
    assert error.field == "LastName"
    assert error.hint == "map a value or a default for LastName"


def test_validation_rule_message_is_verbatim() -> None:
    rule_text = "Leads from France need a VAT number"
    error = record_error({"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                          "message": rule_text, "fields": []}, LEAD, {})
    assert error.message == rule_text and error.field is None
    assert "validation rule" in (error.hint or "")


def test_several_errors_of_one_record_are_all_kept() -> None:
    error = record_error([
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: "
         "[LastName]", "fields": ["LastName"]},
        {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid email address: x",
         "fields": ["Email"]}], LEAD, {"Email": "x"})
    assert error.code == "REQUIRED_FIELD_MISSING"
    assert "invalid email address" in error.message


@responses.activate
def test_composite_create_with_mixed_results() -> None:
    add_token()
    add_json("POST", "composite/sobjects", [
        {"id": "00Qxx0000000001AAA", "success": True, "errors": []},
        {"success": False, "errors": [{
            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "Country: bad value for restricted picklist field: UK",
            "fields": ["Country__c"]}]},
        {"id": "00Qxx0000000003AAA", "success": True, "errors": []},
    ], headers={"Sforce-Limit-Info": "api-usage=41/15000"})
    add_json("GET", "sobjects/Lead/describe", lead_describe())
    crm = connector()
    records = [OutboundRecord("a", None, {"LastName": "A", "Company": "X"}),
               OutboundRecord("b", None, {"LastName": "B", "Company": "X", "Country__c": "UK"}),
               OutboundRecord("c", None, {"LastName": "C", "Company": "X"})]
    results = crm.write("Lead", records)
    assert [(r.ref, r.status, r.key) for r in results] == [
        ("a", WriteStatus.CREATED, "00Qxx0000000001AAA"),
        ("b", WriteStatus.FAILED, None),
        ("c", WriteStatus.CREATED, "00Qxx0000000003AAA")]
    error = results[1].error
    assert error is not None and error.field == "Country__c"
    assert "'UK' on Country__c; allowed: Canada" in (error.hint or "")
    sent = json.loads(responses.calls[1].request.body)
    assert sent["allOrNone"] is False
    assert sent["records"][1] == {"attributes": {"type": "Lead"}, "LastName": "B",
                                  "Company": "X", "Country__c": "UK"}
    # The token is not an API call; the write and the describe for the hint are.
    assert crm.api_calls == 2
    usage = crm.usage()
    assert usage is not None and (usage.used, usage.limit) == (41, 15000)


def test_refused_fields_are_named_only_when_nothing_else_failed_the_record() -> None:
    too_long = {"statusCode": "STRING_TOO_LONG", "fields": ["Company"],
                "message": "Company: data value too large: xxx (max length=255)"}
    read_only = {"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["IsConverted"],
                 "message": "Unable to create/update fields: IsConverted. ..."}
    rule = {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["Phone"],
            "message": "Phone must have 10 digits"}

    alone = record_error([too_long, read_only], LEAD, {"Company": "xxx", "IsConverted": True})
    assert [(r.field, r.code, r.value) for r in alone.refused] == [
        ("Company", "STRING_TOO_LONG", "xxx"), ("IsConverted", "INVALID_FIELD_FOR_INSERT_UPDATE",
                                                True)]
    assert alone.refused[0].hint == (
        "add a truncate transform on Company (max length 255) or shorten the value in the hub")
    # A validation rule is the record's own, even when it points at a field.
    assert record_error([too_long, rule], LEAD, {}).refused == ()
    # INVALID_FIELD names a field only for a value it could not read (Bulk); else a column.
    unknown = {"statusCode": "INVALID_FIELD", "fields": [], "message": "No such column 'X'"}
    assert record_error([unknown], LEAD, {}).refused == ()


def test_bulk_cells_with_several_errors_are_read_as_several() -> None:
    from connectors.salesforce.bulk import parse_bulk_errors

    assert parse_bulk_errors(
        "STRING_TOO_LONG:Company: data value too large: A -- B (max length=255):Company --;"
        "INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --") == [
        {"statusCode": "STRING_TOO_LONG", "fields": ["Company"],
         "message": "Company: data value too large: A -- B (max length=255)"},
        {"statusCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"],
         "message": "Email: invalid email address: x"}]
    assert parse_bulk_errors("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--") == [
        {"statusCode": "INVALID_CROSS_REFERENCE_KEY", "fields": [],
         "message": "invalid cross reference id"}]
