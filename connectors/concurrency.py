"""Optimistic concurrency where a record's version is a timestamp of coarse precision.

A stamp later than the version an update is based on means someone changed the record since.
A stamp *equal* to it proves nothing either way: Salesforce's SystemModstamp has whole seconds,
so an edit made in the same second as our read (or write) carries the very same stamp. For
those records the values decide: see :func:`overwritten_field`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The engine's rule for "the same value in another system's spelling" ("50" and 50, "" and
# None, two spellings of one moment): comparing here by any other rule would call our own
# write a foreign change, or miss a real one.
from jobs.compare import same


def overwritten_field(
    current: Mapping[str, Any],
    written: Mapping[str, Any],
    expected: Mapping[str, Any] | None,
) -> str | None:
    """The first field an update would overwrite although someone changed it; None if none.

    ``current`` is the record now, ``written`` what the update sends, ``expected`` the values
    the update was based on (``OutboundRecord.expected``). A field already holding the value
    being written loses nothing; a field still holding the expected value was not changed.
    Without an expected value for a field, any other current value counts as a change.
    """
    for name, value in written.items():
        now = current.get(name)
        if same(now, value):
            continue
        if expected is not None and name in expected and same(now, expected[name]):
            continue
        return name
    return None
