"""When a remote record's version may stand for its values, and when only its values tell."""

from __future__ import annotations


def version_settles(row_versions: bool, known: str | None, read: str | None) -> bool:
    """May a re-read record skip the merge because its version is the one the link knows?

    Only where the remote's version is a true row version (``Capabilities.row_versions``):
    new on every write, so an equal one means the record holds what we last read or wrote.
    A timestamp is not: Salesforce's SystemModstamp has whole seconds, and an edit made in
    the same second as our read or write carries the very version the link holds. Such a
    record goes through the merge against the link's snapshot, where our own write coming
    back agrees with the snapshot and moves nothing, and someone else's edit is news.
    """
    return row_versions and bool(known) and known == read
