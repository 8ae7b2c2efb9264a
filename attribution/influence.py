"""Keeping ``campaign_influence`` in step with the credits, without touching unchanged rows.

A row is one opportunity × campaign × person × model: the percentage of the opportunity that
the person's touches of that campaign earned, and that part of its amount. The CRM push
follows ``change_seq``, so a row is written only when its values change: a recompute that
finds the same credit leaves the push idle. A row whose credit disappeared is soft-deleted
(a mapping's delete policy then removes the CampaignInfluence) and comes back to life under
its old id if the credit returns, keeping its link to the CRM record.

Rows are written with bulk statements, numbered with :func:`core.sequence.reserve`, since a
full recompute of a large hub writes millions of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from attribution.inputs import slices, text_of
from core.models import CampaignInfluence, new_id
from core.sequence import reserve

Key = tuple[str, str, str, str]  # opportunity, campaign, person, model

#: Influence is stored as a percentage with this many decimals (Salesforce shows two).
INFLUENCE_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class Influence:
    """What one campaign_influence row should hold."""

    influence: float
    revenue: float | None
    #: The connection that holds the opportunity (where the row goes back to).
    crm: str | None = None


class InfluenceTotals:
    """Sums a chunk's credits into rows: one per opportunity × campaign × person × model."""

    def __init__(self) -> None:
        self._credit: dict[Key, Fraction] = {}
        self._revenue: dict[Key, Decimal | None] = {}

    def add(self, key: Key, credit: Fraction, revenue: Decimal | None) -> None:
        """Count one touch's credit (and revenue share) toward its row."""
        self._credit[key] = self._credit.get(key, Fraction(0)) + credit
        if key not in self._revenue or self._revenue[key] is not None:
            before = self._revenue.get(key, Decimal(0))
            self._revenue[key] = None if revenue is None or before is None else before + revenue

    def rows(self, crm: str | None) -> dict[Key, Influence]:
        """The rows as they should be stored, for a deal held by the connection ``crm``."""
        return {
            key: Influence(
                round(float(credit * 100), INFLUENCE_DECIMALS),
                None if self._revenue[key] is None else float(self._revenue[key]),  # type: ignore[arg-type]
                crm,
            )
            for key, credit in self._credit.items()
        }


def write_influence(
    session: Session, opportunity_ids: Sequence[str], wanted: dict[Key, Influence], now: datetime
) -> int:
    """Make the rows of ``opportunity_ids`` what ``wanted`` says; returns the rows written."""
    table = CampaignInfluence.__table__  # type: ignore[attr-defined]
    c = table.c
    existing: dict[Key, tuple[str, float, float | None, bool, str | None]] = {}
    for batch in slices(opportunity_ids):
        rows = session.execute(
            select(*map(text_of, (c.id, c.opportunity_id, c.campaign_id, c.person_id, c.model)),
                   c.influence, c.revenue, c.deleted_at.is_not(None), text_of(c.crm))
            .where(c.opportunity_id.in_(batch))
        ).all()
        # Unpacked as tuples: an incremental run reads a dozen rows per opportunity.
        for row_id, opportunity_id, campaign_id, person_id, model, share, revenue, deleted, \
                crm in rows:
            existing[(opportunity_id, campaign_id, person_id, model)] = (
                row_id, share, revenue, bool(deleted), crm)
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for key in sorted(wanted):
        want = wanted[key]
        have = existing.get(key)
        if have is None:
            opportunity_id, campaign_id, person_id, model = key
            new.append({
                "id": new_id(), "opportunity_id": opportunity_id, "campaign_id": campaign_id,
                "person_id": person_id, "model": model, "influence": want.influence,
                "revenue": want.revenue, "crm": want.crm, "created_at": now, "deleted_at": None,
            })
        elif have[3] or (have[1], have[2], have[4]) != (want.influence, want.revenue, want.crm):
            changed.append({"row_id": have[0], "influence": want.influence,
                            "revenue": want.revenue, "crm": want.crm, "deleted_at": None})
    gone = [
        {"row_id": have[0], "influence": have[1], "revenue": have[2], "crm": have[4],
         "deleted_at": now}
        for key, have in sorted(existing.items()) if key not in wanted and not have[3]
    ]
    changed.sort(key=lambda row: str(row["row_id"]))
    gone.sort(key=lambda row: str(row["row_id"]))
    # New rows first, then changed ones by id: the same writes always get the same numbers.
    numbers = iter(reserve(session, len(new) + len(changed) + len(gone)))
    for row in new:
        row["change_seq"] = next(numbers)
        row["updated_at"] = now
    for row in [*changed, *gone]:
        row["change_seq"] = next(numbers)
        row["updated_at"] = now
    if new:
        session.execute(insert(table), new)
    if changed or gone:
        # An executemany UPDATE sets the columns named in each parameter dict.
        session.execute(update(table).where(c.id == bindparam("row_id")), [*changed, *gone])
    return len(new) + len(changed) + len(gone)


def drop_models(session: Session, keep: Sequence[str], now: datetime) -> int:
    """Soft-delete the live rows of models the attribution file no longer lists."""
    table = CampaignInfluence.__table__  # type: ignore[attr-defined]
    c = table.c
    ids = sorted(session.execute(
        select(c.id).where(c.model.not_in(list(keep)), c.deleted_at.is_(None))
    ).scalars())
    rows = [{"row_id": row_id, "deleted_at": now, "updated_at": now, "change_seq": seq}
            for row_id, seq in zip(ids, reserve(session, len(ids)), strict=True)]
    if rows:
        session.execute(update(table).where(c.id == bindparam("row_id")), rows)
    return len(rows)
