"""Errors raised by the Salesforce sandbox, rendered in the REST API's two error shapes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class SalesforceError(Exception):
    """One or more Salesforce errors (code, message, fields) plus the HTTP status to answer with."""

    def __init__(
        self, code: str, message: str, fields: Iterable[str] = (), status: int = 400
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        # A single record can fail several checks at once; they are reported together.
        self.errors: list[dict] = [{"code": code, "message": message, "fields": list(fields)}]

    @property
    def code(self) -> str:
        """The first error's code (the one a caller usually branches on)."""
        return self.errors[0]["code"]

    @property
    def message(self) -> str:
        """The first error's message."""
        return self.errors[0]["message"]

    @property
    def fields(self) -> list[str]:
        """The first error's fields."""
        return self.errors[0]["fields"]

    def add(self, code: str, message: str, fields: Iterable[str] = ()) -> SalesforceError:
        """Append another error for the same record; returns self for chaining."""
        self.errors.append({"code": code, "message": message, "fields": list(fields)})
        return self

    @classmethod
    def combine(cls, errors: Sequence[SalesforceError]) -> SalesforceError:
        """One error carrying every error of `errors` (status of the first)."""
        first = errors[0]
        combined = cls(first.code, first.message, first.fields, status=first.status)
        combined.errors = [dict(error) for failure in errors for error in failure.errors]
        return combined

    def rest_body(self) -> list[dict]:
        """The top-level REST error body: `[{"message", "errorCode", "fields"?}, ...]`."""
        body = []
        for error in self.errors:
            item: dict = {"message": error["message"], "errorCode": error["code"]}
            # Salesforce includes `fields` only when the error concerns particular fields.
            if error["fields"]:
                item["fields"] = list(error["fields"])
            body.append(item)
        return body

    def record_errors(self) -> list[dict]:
        """The per-record errors of Collections results: `[{"statusCode", "message", "fields"}]`."""
        return [
            {
                "statusCode": error["code"],
                "message": error["message"],
                "fields": list(error["fields"]),
            }
            for error in self.errors
        ]


class SoqlError(SalesforceError):
    """A query error (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...); always HTTP 400."""

    def __init__(
        self, code: str, message: str, fields: Iterable[str] = (), status: int = 400
    ) -> None:
        # Same signature as the base class so `combine()` and copies work on query errors too.
        super().__init__(code, message, fields, status=status)
