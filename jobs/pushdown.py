"""The filter a pull cycle sends with its read: the mapping's ``pull_rule``, as far as it goes.

A record the rule keeps out is not worth transferring: the part of the rule the remote can
evaluate (mappings.pushdown) goes into the read's query, and the whole rule is still checked
on what comes back. The engine's behaviour must not change, so the filter never hides a
record the engine would act on although the rule keeps it out:

- deletes and records with a successor (a converted Lead, a merged record) are acted on
  whatever the rule says; every connector returns them whatever the filter (its contract);
- a linked record that stops passing the rule is skipped, as an unlinked one is: its link,
  hub record and snapshot stay as they are, so not reading it changes nothing there;
- but a skipped record's open errors end with the skip (nothing is left to do for it): the
  records with open pull errors are read whatever the rule (``OR key IN (...)``) so that
  still happens. Beyond ``ALWAYS_READ_LIMIT`` of them the query would grow too long, so the
  cycle reads everything, as it did before pushdown.

Errors waiting for a retry need nothing here: a due retry re-reads its record by key, and one
not due yet is left out of every page anyway.

One difference remains, on purpose: a rule that *fails* on a record (``Company - 1 > 0`` on a
text) records an error for it; where the filter leaves that record out, there is none. The
rule keeps such records out either way, and its error still shows on every record it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from connectors.base import Connector
from connectors.filters import Filter, In, any_of
from core.models import SyncError
from mappings.pushdown import split
from mappings.spec import Mapping

#: Records with open pull errors the query names by key at most; more, and nothing is pushed.
ALWAYS_READ_LIMIT = 200

DIRECTION = "to_hub"


@dataclass(frozen=True, slots=True)
class PulledFilter:
    """What a pull cycle sends with its read, and what a dry run says about it."""

    where: Filter | None
    lines: tuple[str, ...]


def pull_filter(session: Session, connector: Connector, mapping: Mapping) -> PulledFilter:
    """The filter for this cycle's read of ``mapping`` (None: read everything), explained."""
    if mapping.pull_rule is None:
        return PulledFilter(None, ())
    name = mapping.remote_object
    info = connector.describe([name])[name]
    pushdown = split(mapping.pull_rule, info.fields)
    if pushdown is None or pushdown.pushed is None:
        return PulledFilter(
            None, (f"pull_rule not pushed to {mapping.connection}: no part of it can be said "
                   "in the remote's query without leaving out records the rule keeps (text "
                   "there compares ignoring case); it is checked here on every record read",)
        )
    text = connector.where_text(name, pushdown.pushed)
    if text is None:
        return PulledFilter(
            None, (f"pull_rule not pushed to {mapping.connection}: {connector.where_refused}; "
                   "the rule is checked here",)
        )
    lines = [f"pull_rule pushed to {mapping.connection}: WHERE {text}"]
    if pushdown.kept:
        kept = " and ".join(f"`{clause}`" for clause in pushdown.kept)
        lines.append(f"kept local: {kept} (the whole rule is checked again on what comes back)")
    else:
        lines.append("the whole rule is checked again on what comes back")
    open_ids = _open_error_ids(session, mapping.name)
    if len(open_ids) > ALWAYS_READ_LIMIT:
        lines = [
            f"pull_rule not pushed to {mapping.connection} this cycle: {len(open_ids)} record(s) "
            f"with open errors must be read whatever the rule (more than {ALWAYS_READ_LIMIT}); "
            "the rule is checked here"
        ]
        return PulledFilter(None, tuple(lines))
    where = pushdown.pushed
    if open_ids:
        where = any_of(where, In(info.key_field, tuple(open_ids)))
        lines.append(f"also read whatever the rule: {len(open_ids)} record(s) with open errors")
    return PulledFilter(where, tuple(lines))


def _open_error_ids(session: Session, mapping: str) -> list[str]:
    """Remote ids with open (not retrying) record-level pull errors, in a stable order."""
    rows = session.exec(
        select(SyncError.remote_id)
        .distinct()
        .where(
            SyncError.mapping == mapping,
            SyncError.direction == DIRECTION,
            SyncError.level == "record",
            SyncError.status == "open",
            col(SyncError.remote_id).is_not(None),
        )
    )
    return sorted(str(key) for key in rows if key)
