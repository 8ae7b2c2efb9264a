"""Errors raised by the Dataverse sandbox, rendered as the Web API's `{"error": {...}}` body.

Names and codes come from Microsoft's "Web service error codes (Microsoft Dataverse)" list
(learn.microsoft.com/power-apps/developer/data-platform/reference/web-service-error-codes,
MicrosoftDocs/powerapps-docs powerapps-docs/developer/data-platform/includes/
data-service-error-codes.md). "List" below means that page; "Client errors" means
"Troubleshoot Dataverse Web API client errors" (MicrosoftDocs/SupportArticles-docs
support/power-platform/power-apps/dataverse/web-api-client-errors.md).
"""

from __future__ import annotations

# Hex codes as the Web API writes them (lower-case hex digits after "0x", as in the docs).
OBJECT_DOES_NOT_EXIST = "0x80040217"  # List: ObjectDoesNotExist; 404
DUPLICATE_RECORD = "0x80040237"  # List: DuplicateRecord; 412 per "Compose HTTP requests"
DUPLICATE_DETECTED = "0x80040333"  # List: DuplicateRecordsFound, message verbatim
CONCURRENCY_VERSION_MISMATCH = "0x80060882"  # List: ConcurrencyVersionMismatch, verbatim; 412
STRING_TOO_LONG = "0x80044331"  # List: StringLengthTooLong; "Execute batch operations" example
INVALID_OPTION_VALUE = "0x8004431a"  # List: PicklistValueOutOfRange
REQUIRED_ATTRIBUTE_MISSING = "0x80040200"  # List: RequiredFieldMissing
INVALID_ARGUMENT = "0x80040203"  # List: InvalidArgument
PAYLOAD_ERROR = "0x80048d19"  # List: ODataClientPayloadError; Client errors example
QUERY_ERROR = "0x80060888"  # not in the List: the code for refused query options is unverified
PROPERTY_NOT_FOUND = "0x0"  # Client errors: "Could not find a property ..." and "Invalid property"
RESOURCE_NOT_FOUND = "0x8006088a"  # List: CrmHttpError; Client errors: "Resource not found ..."
PRIVILEGE_DENIED = "0x80040220"  # List: PrivilegeDenied; 403 per "Compose HTTP requests"
LEAD_ALREADY_CLOSED = "0x80040519"  # List: LeadAlreadyInClosedState, "The lead is already closed."
INVALID_STATE_STATUS = "0x80048408"  # List: InvalidStateCodeStatusCode, message verbatim
BUSINESS_LOGIC = "0x80040265"  # List: IsvAborted; "Compose HTTP requests": plug-in errors
EXPIRED_VERSION_STAMP = "0x80044352"  # List: ExpiredVersionStamp, message verbatim
CHANGE_TRACKING_NOT_ENABLED = "0x80072491"  # List: ChangeTrackingNotEnabledForEntity, verbatim
CHANGE_TRACKING_QUERY = "0x80060888"  # message documented (change tracking page), code is not
SERVICE_PROTECTION_REQUESTS = "0x80072322"  # List: ThrottlingBurstRequestLimitExceededError; 429
SERVICE_PROTECTION_TIME = "0x80072321"  # List: ThrottlingTimeExceededError; 429
SERVICE_PROTECTION_CONCURRENCY = "0x80072326"  # List: ThrottlingConcurrencyLimitExceededError
INVALID_AUTH_TICKET = "0x8004a100"  # List: InvalidAuthTicket; 401 per "Compose HTTP requests"
REQUEST_NOT_AUTHENTICATED = "0x80044302"  # List: RequestIsNotAuthenticated; 401 likewise
UNEXPECTED = "0x80040216"  # List: UnExpected, "An unexpected error occurred."

#: The List's words for the expired change-tracking token (ExpiredVersionStamp).
EXPIRED_VERSION_STAMP_MESSAGE = (
    "Version stamp associated with the client has expired. Please perform a full sync."
)


class DataverseError(Exception):
    """A Dataverse Web API error: hex `code`, human `message` and the HTTP `status` to answer."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict:
        """The JSON error body: `{"error": {"code": "0x...", "message": "..."}}`."""
        return {"error": {"code": self.code, "message": self.message}}

    def __repr__(self) -> str:
        return f"DataverseError({self.code!r}, {self.message!r}, status={self.status})"


def not_found(entity: str, guid: str) -> DataverseError:
    """The 404 a missing row gets, worded as Dataverse words it."""
    return DataverseError(
        OBJECT_DOES_NOT_EXIST, f"{entity} With Id = {guid} Does Not Exist", status=404
    )


def expired_version_stamp() -> DataverseError:
    """The 400 a change-tracking token the environment can no longer honour gets."""
    return DataverseError(EXPIRED_VERSION_STAMP, EXPIRED_VERSION_STAMP_MESSAGE)


def change_tracking_not_enabled(logical_name: str) -> DataverseError:
    """The 400 for a track-changes read of a table without Track changes."""
    return DataverseError(
        CHANGE_TRACKING_NOT_ENABLED, f"Entity {logical_name} isn't enabled for change tracking."
    )


#: Where the List's ODataClientPayloadError message sends readers.
PAYLOAD_HELP_LINK = "https://go.microsoft.com/fwlink/?linkid=2195293"


def payload_error(entity_set: str, inner: str) -> DataverseError:
    """A 400 ODataClientPayloadError, worded as the List's template and the Client errors page.

    ``inner`` is the OData library's own sentence ("An undeclared property ...").
    """
    return DataverseError(
        PAYLOAD_ERROR,
        f"Error identified in Payload provided by the user for Entity :'{entity_set}', For "
        f"more information on this error please follow this help link {PAYLOAD_HELP_LINK}  "
        f"---->  InnerException : Microsoft.OData.ODataException: {inner}",
    )
