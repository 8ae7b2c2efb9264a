"""Dataverse's error codes → Syncline's vocabulary, statuses, retries and per-record hints."""

from __future__ import annotations

import pytest
import responses

from connectors.base import FieldInfo, ObjectInfo
from connectors.dynamics.errors import ERROR_TABLE, error_of, record_error, rule_for
from connectors.errors import ConnectorError, ErrorKind
from connectors.retry import RetryPolicy
from tests.connectors.dynamics.fakes import add_json, add_token, connector, odata_error

EXPECTED_KINDS = {
    "0x80040217": ErrorKind.NOT_FOUND,
    "0x80040237": ErrorKind.DUPLICATE,
    "0x80040333": ErrorKind.DUPLICATE,
    "0x80060882": ErrorKind.CONFLICT,
    "0x80044331": ErrorKind.VALIDATION,
    "0x8004431a": ErrorKind.VALIDATION,
    "0x80040200": ErrorKind.VALIDATION,
    "0x80040265": ErrorKind.VALIDATION,
    "0x80048d19": ErrorKind.VALIDATION,
    "0x80072322": ErrorKind.RATE_LIMITED,
    "0x80072321": ErrorKind.RATE_LIMITED,
    "0x80072326": ErrorKind.RATE_LIMITED,
    "0x80044151": ErrorKind.TRANSIENT,
    "0x80042f09": ErrorKind.PERMISSION,
    "0x80060888": ErrorKind.SYSTEM,
    # Corrected or added after checking Microsoft's "Web service error codes" list:
    "0x80044352": ErrorKind.CONFIG,  # ExpiredVersionStamp (answered by a full re-read)
    "0x80072491": ErrorKind.CONFIG,  # ChangeTrackingNotEnabledForEntity, not "expired"
    "0x80040225": ErrorKind.PERMISSION,  # unManagedidsusernotenabled, not a lead's state
    "0x80040519": ErrorKind.CONFLICT,  # LeadAlreadyInClosedState
    "0x80048408": ErrorKind.VALIDATION,  # InvalidStateCodeStatusCode
    "0x80040220": ErrorKind.PERMISSION,  # PrivilegeDenied
    "0x80072560": ErrorKind.PERMISSION,  # UserNotMemberOfOrg
    "0x80060892": ErrorKind.DUPLICATE,  # DuplicateRecordEntityKey
    "0x80044150": ErrorKind.TRANSIENT,  # "Generic SQL error."
    "0x8004a001": ErrorKind.TRANSIENT,  # CrmSqlGovernorDatabaseRequestDenied: "Try again later."
    "0x80040216": ErrorKind.TRANSIENT,  # UnExpected
    "0x0": ErrorKind.CONFIG,  # the client errors page: an unknown property name
}


def test_hints_of_corrected_codes_say_what_the_documented_error_means() -> None:
    assert "Track changes" in ERROR_TABLE["0x80072491"].hint
    assert "disabled" in ERROR_TABLE["0x80040225"].hint
    assert "application user" in ERROR_TABLE["0x80072560"].hint
    assert "deadlock" not in ERROR_TABLE["0x80044150"].hint.split("(")[0], (
        "the List calls it a generic SQL error; a deadlock is only one cause")


@pytest.mark.parametrize(("code", "kind"), sorted(EXPECTED_KINDS.items()))
def test_table_classifies_each_documented_code(code: str, kind: ErrorKind) -> None:
    assert rule_for(code).kind is kind
    assert ERROR_TABLE[code].hint  # every row tells the user what to do


def test_codes_match_ignoring_hex_case() -> None:
    assert rule_for("0x8004431A").kind is ErrorKind.VALIDATION


def test_unknown_codes_fall_back_on_the_status() -> None:
    assert rule_for("0x8000ffff", 500).kind is ErrorKind.TRANSIENT
    assert rule_for("0x8000ffff", 404).kind is ErrorKind.NOT_FOUND
    assert rule_for(None, 429).kind is ErrorKind.RATE_LIMITED
    assert rule_for(None, 403).kind is ErrorKind.PERMISSION
    assert rule_for("0x80040217", 401).kind is ErrorKind.AUTH  # a 401 is the token, always
    assert rule_for("0x8000ffff", 418).kind is ErrorKind.SYSTEM


def test_error_body_keeps_the_remote_words() -> None:
    error = error_of(412, odata_error("0x80060882", "The version of the existing record "
                                                    "doesn't match the RowVersion property"))
    assert error.kind is ErrorKind.CONFLICT
    assert error.code == "0x80060882" and error.status == 412
    assert "RowVersion" in error.message


LEAD_INFO = ObjectInfo("lead", "leadid", "versionnumber", {
    "subject": FieldInfo("subject", length=300),
    "leadsourcecode": FieldInfo("leadsourcecode", "picklist",
                                picklist_values=("Advertisement", "Web"),
                                restricted_picklist=True),
})


def test_length_error_names_the_column_and_its_limit() -> None:
    raw = error_of(400, odata_error("0x80044331", "A validation error occurred. The length of "
                                                  "the 'subject' attribute of the 'lead' entity "
                                                  "exceeded the maximum allowed length of '300'."))
    error = record_error(raw, LEAD_INFO, {"subject": "x" * 400})
    assert error.field == "subject"
    assert error.hint == "add a truncate transform on subject (max length 300) or shorten " \
                         "the value in the hub"


def test_option_error_lists_the_allowed_labels() -> None:
    raw = error_of(400, odata_error("0x8004431A", "leadsourcecode: value 99 is outside the "
                                                  "valid range"))
    raw.field = "leadsourcecode"
    error = record_error(raw, LEAD_INFO, {"leadsourcecode": "Fax"})
    assert error.hint == "add a value_map entry for 'Fax' on leadsourcecode; allowed: " \
                         "Advertisement, Web"


# -- over HTTP ---------------------------------------------------------------------------

CHECK = "EntityDefinitions"


@responses.activate
def test_429_waits_the_retry_after_then_succeeds() -> None:
    add_token()
    add_json("GET", CHECK, odata_error("0x80072322", "Number of requests exceeded the limit "
                                                     "of 6000 over time window of 300 seconds."),
             status=429, headers={"Retry-After": "7"})
    add_json("GET", CHECK, {"value": []})
    crm = connector()
    slept: list[float] = []
    crm.retry = RetryPolicy(max_tries=3, sleep=slept.append)
    crm.check()
    assert slept == [7.0]
    assert crm.api_calls == 2


@responses.activate
def test_503_is_retried_with_backoff_then_raised_transient() -> None:
    add_token()
    for _ in range(3):
        responses.add(responses.GET, f"https://org.crm.dynamics.com/api/data/v9.2/{CHECK}",
                      body="<html><title>Service Unavailable</title></html>", status=503,
                      content_type="text/html")
    crm = connector()
    slept: list[float] = []
    crm.retry = RetryPolicy(max_tries=3, sleep=slept.append)
    with pytest.raises(ConnectorError) as info:
        crm.check()
    assert info.value.kind is ErrorKind.TRANSIENT and info.value.retryable
    assert len(slept) == 2 and all(s > 0 for s in slept)


@responses.activate
def test_403_is_permission_and_not_retried() -> None:
    add_token()
    add_json("GET", CHECK, odata_error("0x80042f09", "Principal user is missing prvReadLead "
                                                     "privilege"), status=403)
    crm = connector()
    with pytest.raises(ConnectorError) as info:
        crm.check()
    assert info.value.kind is ErrorKind.PERMISSION
    assert "prvReadLead" in info.value.message
    assert crm.api_calls == 1


def test_a_value_no_column_type_holds_is_refused_for_the_one_column_that_sent_it() -> None:
    info = ObjectInfo("lead", "leadid", "versionnumber", {
        "numberofemployees": FieldInfo("numberofemployees", "integer"),
        "revenue": FieldInfo("revenue", "number"),
        "new_seats": FieldInfo("new_seats", "integer"),
        "jobtitle": FieldInfo("jobtitle", "string"),
    })
    words = ("Error identified in Payload provided by the user for Entity :'leads' ---->  "
             "InnerException : Microsoft.OData.ODataException: Cannot convert the literal "
             "'many' to the expected type 'Edm.Int32'.")
    one = record_error(error_of(400, odata_error("0x80048d19", words)), info,
                       {"numberofemployees": "many", "jobtitle": "many"})
    assert one.field == "numberofemployees"
    assert [(r.field, r.value) for r in one.refused] == [("numberofemployees", "many")]
    # Two whole-number columns sent the same text: which one Dataverse read is not known.
    both = record_error(error_of(400, odata_error("0x80048d19", words)), info,
                        {"numberofemployees": "many", "new_seats": "many", "revenue": "many"})
    assert (both.field, both.refused) == (None, ())
    # Another payload error (an unknown navigation property) is the mapping's, not a value's.
    other = record_error(error_of(400, odata_error("0x80048d19", "An undeclared property "
                                                   "'numberofemployees' ...")), info,
                         {"numberofemployees": 5})
    assert other.refused == ()
