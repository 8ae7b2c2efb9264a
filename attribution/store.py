"""Writing a recomputed chunk's attribution rows: all new after a full run's delete, or a diff.

A full run replaces a chunk's rows wholesale (delete, then one insert per table): every row is
new anyway. An incremental run recomputes opportunities whose inputs changed, and most of their
rows come out the same (a touch moving inside a journey keeps its linear share, the first touch
stays first), so it reads the chunk's rows and writes only the difference: rows that went are
deleted, rows whose values changed are updated in place (their indexed columns are the key, so
no index moves), and new rows are inserted. Deleting and re-inserting every row of a few
thousand deals scattered over tables of millions was most of an incremental run's writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
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
    for batch in slices(sorted(old[0] for old in have.values())):
        session.execute(delete(table).where(c.id.in_(batch)))
    if changed:
        session.execute(update(table).where(c.id == bindparam("row_id")), changed)
    if new:
        session.execute(insert(table), new)


def _results(session: Session, chunk: Sequence[str], wanted: list[dict[str, object]]) -> None:
    table = AttributionResult.__table__  # type: ignore[attr-defined]
    c = table.c
    have: dict[tuple[str, str], tuple[Any, ...]] = {}
    for batch in slices(chunk):
        for row in session.execute(
            select(text_of(c.opportunity_id), text_of(c.model), c.unattributed, c.touches,
                   text_of(c.fingerprint))
            .where(c.opportunity_id.in_(batch))
        ).all():
            have[(row[0], row[1])] = (bool(row[2]), row[3], row[4])
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    seqs: set[object] = set()
    for row in wanted:
        old = have.pop((str(row["opportunity_id"]), str(row["model"])), None)
        if old is None:
            new.append(row)
            continue
        seqs.add(row["seq"])
        if old != (row["unattributed"], row["touches"], row["fingerprint"]):
            changed.append({"key_opportunity": row["opportunity_id"], "key_model": row["model"],
                            "unattributed": row["unattributed"], "touches": row["touches"],
                            "fingerprint": row["fingerprint"]})
    for opportunity_id, model in sorted(have):
        session.execute(delete(table).where(c.opportunity_id == opportunity_id,
                                            c.model == model))
    # Every row of a recomputed opportunity says it was computed at this run's sequence: one
    # statement for the chunk (a run computes everything at one ``upto``).
    for seq in seqs:
        for batch in slices(chunk):
            session.execute(update(table).where(c.opportunity_id.in_(batch)).values(seq=seq))
    if changed:
        session.execute(
            update(table).where(and_(c.opportunity_id == bindparam("key_opportunity"),
                                     c.model == bindparam("key_model")))
            .values(unattributed=bindparam("unattributed"), touches=bindparam("touches"),
                    fingerprint=bindparam("fingerprint")),
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
