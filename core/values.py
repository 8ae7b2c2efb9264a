"""What counts as "no value", and when two emails are the same: once for the whole product.

None and text that is empty or only whitespace are blank; everything else (0, False, an empty
list) is a value. The merge, the transforms' defaults, the expressions' ``blank()``, the
importer and the memory connector's required-field check all ask this one function, so a
field of spaces is treated alike everywhere.
"""

from __future__ import annotations

from typing import Any


def blank(value: Any) -> bool:
    """True for None and for text that is empty or whitespace only."""
    return value is None or (isinstance(value, str) and not value.strip())


def normalise_email(value: Any) -> str | None:
    """An email as Syncline compares it: trimmed and lower-cased; None when blank.

    Every match by email (hub people, CRM records, dashboard accounts) goes through this,
    so ``Ann@X.com `` and ``ann@x.com`` are one person everywhere.
    """
    if blank(value):
        return None
    return str(value).strip().lower()
