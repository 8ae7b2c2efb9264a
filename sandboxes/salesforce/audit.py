"""Audit dates set when a record is created, so tests and seeds can build a history.

Salesforce lets a user with "Set Audit Fields upon Record Creation" give a new record its
``CreatedDate`` and ``LastModifiedDate`` (migrations do); ``SystemModstamp`` stays the time
the platform actually wrote the record, so readers that follow SystemModstamp still see it.
The sandbox offers the same through its control API and to seed code.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.validation import format_datetime, parse_datetime

if TYPE_CHECKING:
    from sandboxes.salesforce.org import Org

#: The fields a create may carry for this purpose.
AUDIT_FIELDS = ("CreatedDate", "LastModifiedDate")


def pop_audit_dates(fields: dict[str, Any]) -> dict[str, datetime]:
    """Take the audit fields out of a record's values (any case), read as datetimes."""
    dates: dict[str, datetime] = {}
    for name in list(fields):
        canonical = next((f for f in AUDIT_FIELDS if f.lower() == str(name).lower()), None)
        if canonical is None:
            continue
        value = fields.pop(name)
        try:
            dates[canonical] = parse_datetime(str(value))
        except ValueError:
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{canonical}: value not of required type: {value}",
                [canonical],
            ) from None
    return dates


def set_audit_dates(org: Org, sobject: str, record_id: str, dates: dict[str, datetime]) -> None:
    """Give a record its creation (and last-modified) date; SystemModstamp is left alone.

    Neither may lie in the future, and LastModifiedDate (default: CreatedDate) may not precede
    CreatedDate.
    """
    if not dates:
        return
    meta = org.schema.get(sobject)
    with org.savepoint():
        row = org.get(meta.name, record_id)
        created = dates.get("CreatedDate") or parse_datetime(row["CreatedDate"])
        modified = dates.get("LastModifiedDate") or created
        now = org.now()
        for name, moment in (("CreatedDate", created), ("LastModifiedDate", modified)):
            if moment > now:
                raise SalesforceError(
                    "INVALID_FIELD", f"{name} cannot be in the future: {format_datetime(moment)}",
                    [name],
                )  # fmt: skip
        if modified < created:
            raise SalesforceError(
                "INVALID_FIELD", "LastModifiedDate cannot be earlier than CreatedDate",
                ["LastModifiedDate"],
            )  # fmt: skip
        stored = org.store.tables[meta.name][row["Id"]]
        org.store.write(
            meta.name,
            row["Id"],
            {
                **stored,
                "CreatedDate": format_datetime(created),
                "LastModifiedDate": format_datetime(modified),
            },
        )
