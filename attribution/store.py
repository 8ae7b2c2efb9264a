"""Writing a recomputed chunk's attribution rows: all new after a full run's delete, or a diff.

A full run replaces a chunk's rows wholesale (delete, then one insert per table): every row is
new anyway. An incremental run recomputes opportunities whose inputs changed, and many of
their rows come out the same: a touch moving inside a journey keeps its linear share, the
first touch stays first. In the recompute benchmark (1 % of touches moved) about a third of
the recomputed deals' credit rows were unchanged, half changed values and the rest came or
went, and three result rows in five changed only their ``seq``. So an incremental chunk reads
its rows and writes the difference: changed rows are updated in place (their indexed columns
are the key, so no index moves), a row that went gives its id to a new one of the same deal
and model, and only the rest is deleted or inserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, bindparam, cast, delete, func, insert, select, update
from sqlmodel import Session

from attribution.inputs import slices, text_of
from core.models import AttributionCredit, AttributionPerson, AttributionResult

#: The tables a chunk's rows live in, besides campaign_influence (see attribution.influence).
TABLES = (AttributionCredit, AttributionResult, AttributionPerson)


def replace_rows(
    session: Session, chunk: Sequence[str], credits: list[dict[str, object]],
    results: list[dict[str, object]], people: list[dict[str, object]],
) -> None:
    """Delete every row of ``chunk`` and insert the new ones (a full run)."""
    for table in TABLES:
        c = table.__table__.c  # type: ignore[attr-defined]
        for batch in slices(chunk):
            session.execute(delete(table).where(c.opportunity_id.in_(batch)))
    for table, rows in zip(TABLES, (credits, results, people), strict=True):
        if rows:  # a Core insert: the ORM's bulk path costs twice as much here
            session.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]


def update_rows(
    session: Session, chunk: Sequence[str], credits: list[dict[str, object]],
    results: list[dict[str, object]], people: list[dict[str, object]],
) -> None:
    """Make ``chunk``'s rows what was computed, writing only what differs (incremental)."""
    _credits(session, chunk, credits)
    _results(session, chunk, results)
    _people(session, chunk, people)


def _credits(session: Session, chunk: Sequence[str], wanted: list[dict[str, object]]) -> None:
    table = AttributionCredit.__table__  # type: ignore[attr-defined]
    c = table.c
    # Rows unpacked as tuples: a chunk reads some twenty of them per opportunity.
    have: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    columns = (c.id, *map(text_of, (c.opportunity_id, c.model, c.touch_id, c.positions,
                                     c.share)), c.revenue)
    for batch in slices(chunk):
        for row_id, opportunity_id, model, touch_id, positions, share, revenue in session.execute(
            select(*columns).where(c.opportunity_id.in_(batch))
        ).all():
            have[(opportunity_id, model, touch_id)] = (row_id, positions, share, revenue)
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for row in wanted:
        old = have.pop((row["opportunity_id"], row["model"], row["touch_id"]), None)
        if old is None:
            new.append(row)
        elif old[1] != row["positions"] or old[2] != row["share"] or old[3] != row["revenue"]:
            # ``credit`` is ``share`` as a decimal: equal shares, equal credits.
            changed.append({"row_id": old[0], "positions": row["positions"],
                            "share": row["share"], "credit": row["credit"],
                            "revenue": row["revenue"]})
    # A row that went and a new one of the same opportunity and model (the first touch is
    # another one now, a touch left the journey and one came in): the old row takes the new
    # touch, an update in place instead of a delete and an insert that each touch every index.
    free: dict[tuple[Any, Any], list[Any]] = {}
    for (opportunity_id, model, _), old in sorted(have.items(), key=lambda item: item[1][0]):
        free.setdefault((opportunity_id, model), []).append(old[0])
    inserted: list[dict[str, object]] = []
    moved: list[dict[str, object]] = []
    for row in new:
        spare = free.get((row["opportunity_id"], row["model"]))
        if spare:
            moved.append({"row_id": spare.pop(), "touch_id": row["touch_id"],
                          "positions": row["positions"], "share": row["share"],
                          "credit": row["credit"], "revenue": row["revenue"]})
        else:
            inserted.append(row)
    for batch in slices(sorted(row_id for spare in free.values() for row_id in spare)):
        session.execute(delete(table).where(c.id.in_(batch)))
    # Two statements: setting touch_id, even unchanged, would rewrite its index entry.
    for rows in (changed, moved):
        if rows:
            session.execute(update(table).where(c.id == bindparam("row_id")), rows)
    if inserted:
        session.execute(insert(table), inserted)


def _results(session: Session, chunk: Sequence[str], wanted: list[dict[str, object]]) -> None:
    table = AttributionResult.__table__  # type: ignore[attr-defined]
    c = table.c
    # Every model's row of an opportunity holds the same values (its journey's), so a summary
    # per opportunity says whether anything but ``seq`` changed: one row read, not nine.
    have: dict[str, tuple[Any, ...]] = {}
    flag = cast(c.unattributed, Integer)
    for batch in slices(chunk):
        for opportunity_id, *summary in session.execute(
            select(text_of(c.opportunity_id), func.count(), func.min(c.model), func.max(c.model),
                   func.min(flag), func.max(flag), func.min(c.touches), func.max(c.touches),
                   func.min(c.fingerprint), func.max(c.fingerprint))
            .where(c.opportunity_id.in_(batch)).group_by(c.opportunity_id)
        ).all():
            have[opportunity_id] = tuple(summary)
    by_opportunity: dict[str, list[dict[str, object]]] = {}
    for row in wanted:
        by_opportunity.setdefault(str(row["opportunity_id"]), []).append(row)
    kept: list[str] = []
    changed: list[dict[str, object]] = []
    new: list[dict[str, object]] = []
    for opportunity_id, rows in by_opportunity.items():
        summary = have.pop(opportunity_id, None)
        models = sorted(str(row["model"]) for row in rows)
        values = {(int(bool(row["unattributed"])), row["touches"], row["fingerprint"])
                  for row in rows}
        same_rows = summary is not None and len(values) == 1 and summary[:3] == (
            len(rows), models[0], models[-1])
        if same_rows:
            flag_, touches, fingerprint = next(iter(values))
            if summary[3:] == (flag_, flag_, touches, touches, fingerprint, fingerprint):
                kept.append(opportunity_id)
            else:
                changed.append({"key_opportunity": opportunity_id, "unattributed": bool(flag_),
                                "touches": touches, "fingerprint": fingerprint,
                                "seq": rows[0]["seq"]})
            continue
        if summary is not None:  # other models' rows, or some missing: never after a full run
            have[opportunity_id] = summary
        new.extend(rows)
    for batch in slices(sorted(have)):  # deleted or unattributable now, or rewritten whole
        session.execute(delete(table).where(c.opportunity_id.in_(batch)))
    if kept:
        # A run computes everything at one ``upto``: the rows say they are that recent.
        seq = wanted[0]["seq"]
        for batch in slices(kept):
            session.execute(update(table).where(c.opportunity_id.in_(batch)).values(seq=seq))
    if changed:
        session.execute(
            update(table).where(c.opportunity_id == bindparam("key_opportunity"))
            .values(unattributed=bindparam("unattributed"), touches=bindparam("touches"),
                    fingerprint=bindparam("fingerprint"), seq=bindparam("seq")),
            changed)
    if new:
        session.execute(insert(table), new)


def _people(session: Session, chunk: Sequence[str], wanted: list[dict[str, object]]) -> None:
    table = AttributionPerson.__table__  # type: ignore[attr-defined]
    c = table.c
    have: set[tuple[str, str]] = set()
    for batch in slices(chunk):
        have.update((row[0], row[1]) for row in session.execute(
            select(text_of(c.opportunity_id), text_of(c.person_id))
            .where(c.opportunity_id.in_(batch))).all())
    want = {(str(row["opportunity_id"]), str(row["person_id"])) for row in wanted}
    for opportunity_id, person_id in sorted(have - want):
        session.execute(delete(table).where(c.opportunity_id == opportunity_id,
                                            c.person_id == person_id))
    new = [{"opportunity_id": o, "person_id": p} for o, p in sorted(want - have)]
    if new:
        session.execute(insert(table), new)
