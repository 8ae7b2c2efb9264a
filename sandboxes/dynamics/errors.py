"""Errors raised by the Dataverse sandbox, rendered as the Web API's `{"error": {...}}` body."""

from __future__ import annotations

# Hex codes as the Web API writes them (lower-case hex digits after "0x", as in the docs).
OBJECT_DOES_NOT_EXIST = "0x80040217"  # 404: "lead With Id = ... Does Not Exist"
DUPLICATE_RECORD = "0x80040237"  # 412 create-only upsert / duplicate alternate key
DUPLICATE_DETECTED = "0x80040333"  # 400: duplicate detection rule matched (emailaddress1)
CONCURRENCY_VERSION_MISMATCH = "0x80060882"  # 412: If-Match version differs
STRING_TOO_LONG = "0x80044331"  # 400: string length exceeded
INVALID_OPTION_VALUE = "0x8004431a"  # 400: option set value outside the valid range
REQUIRED_ATTRIBUTE_MISSING = "0x80040200"  # 400: a required attribute has no value
INVALID_ARGUMENT = "0x80040203"  # 400: bad value for a known attribute (type, bad lookup)
INVALID_PROPERTY = "0x80048d19"  # 400: unknown attribute in the payload
QUERY_ERROR = "0x80060888"  # 400: unsupported or malformed query option ($skip, $filter)
PROPERTY_NOT_FOUND = "0x0"  # 400: "Could not find a property named ..." (docs show code 0x0)
RESOURCE_NOT_FOUND = "0x8006088a"  # 404: "Resource not found for the segment 'Account'."
PRIVILEGE_DENIED = "0x80042f09"  # 403
INVALID_STATE_CHANGE = "0x80040225"  # 400: e.g. qualifying a lead that is not open
BUSINESS_LOGIC = "0x80040265"  # 400: InvalidPluginExecutionException-style rule failures
DELTA_TOKEN_EXPIRED = "0x80072491"  # 400: change tracking token expired / invalid
CHANGE_TRACKING_QUERY = "0x80060888"  # 400: $filter etc. with odata.track-changes
SERVICE_PROTECTION_REQUESTS = "0x80072322"  # 429: request count
SERVICE_PROTECTION_TIME = "0x80072321"  # 429: combined execution time
SERVICE_PROTECTION_CONCURRENCY = "0x80072326"  # 429: concurrent requests
EXPIRED_AUTH_TICKET = "0x8004a101"  # 401


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
