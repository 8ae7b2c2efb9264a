"""Reading stored attribution for pages: which models were computed, a campaign's deals, a deal's.

The sums per campaign, channel or touch type are :mod:`attribution.report`'s; this module
reads what the report does not: the credit rows of one opportunity, the opportunities one
campaign's touches were credited on (with the report's date range), and the journey of one
opportunity as the engine builds it, so a page can say why each touch holds its share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import false, func, or_, select, true
from sqlmodel import Session

from attribution.config import AttributionSettings
from attribution.inputs import read_chunk
from attribution.positions import Journey
from attribution.report import CENT, DateRange
from core.models import AttributionCredit, AttributionResult, Campaign, Opportunity, Touch


def computed_models(session: Session, preferred: Sequence[str] = ()) -> list[str]:
    """The models with stored results: ``preferred``'s order first (the file's), then by name."""
    result = AttributionResult.__table__.c  # type: ignore[attr-defined]
    found = set(session.execute(select(result.model).distinct()).scalars())
    ordered = [name for name in preferred if name in found]
    return ordered + sorted(found - set(ordered))


def campaigns_by_label(session: Session, labels: Iterable[str]) -> dict[str, list[str]]:
    """Campaign ids under the label the report groups them by (the name, else the id).

    Two campaigns sharing a name share a report label, so a label may name several.
    """
    wanted = sorted(set(labels))
    if not wanted:
        return {}
    campaign = Campaign.__table__.c  # type: ignore[attr-defined]
    label = func.coalesce(campaign.name, campaign.id)
    found: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(label, campaign.id).where(label.in_(wanted[start:start + 500]))
            .order_by(campaign.id)
        ).all()
        for name, campaign_id in rows:
            found.setdefault(str(name), []).append(str(campaign_id))
    return found


@dataclass(frozen=True, slots=True)
class CampaignDeal:
    """One opportunity a campaign's touches were credited on: its credit and revenue per model."""

    opportunity_id: str
    name: str | None
    amount: float | None
    stage: str | None
    created: datetime | None
    close_date: date | None
    is_won: bool
    credit: dict[str, Decimal] = field(default_factory=dict)
    revenue: dict[str, Decimal | None] = field(default_factory=dict)


def campaign_deals(
    session: Session, campaign_id: str, models: Sequence[str], dates: DateRange
) -> list[CampaignDeal]:
    """The opportunities in ``dates`` (as the report scopes them) the campaign has credit on.

    Credit is the sum of the campaign's touches' shares of the opportunity; revenue the sum of
    their stored revenue shares (None while the opportunity has no amount). Newest first.
    """
    if not models:
        return []
    credit = AttributionCredit.__table__.c  # type: ignore[attr-defined]
    touch = Touch.__table__.c  # type: ignore[attr-defined]
    opportunity = Opportunity.__table__.c  # type: ignore[attr-defined]
    created = func.coalesce(opportunity.created_on, opportunity.created_at)
    in_scope = true() if dates.whole else or_(dates.created(created), dates.won(opportunity),
                                              false())
    rows = session.execute(
        select(opportunity.id, opportunity.name, opportunity.amount, opportunity.stage, created,
               opportunity.close_date, opportunity.is_won, credit.model,
               func.sum(credit.credit), func.sum(credit.revenue), func.count(credit.revenue))
        .select_from(AttributionCredit.__table__)  # type: ignore[attr-defined]
        .join(Touch.__table__, touch.id == credit.touch_id)  # type: ignore[attr-defined]
        .join(Opportunity.__table__, opportunity.id == credit.opportunity_id)  # type: ignore[attr-defined]
        .where(touch.campaign_id == campaign_id, credit.model.in_(list(models)),
               opportunity.deleted_at.is_(None), in_scope)
        .group_by(opportunity.id, opportunity.name, opportunity.amount, opportunity.stage,
                  created, opportunity.close_date, opportunity.is_won, credit.model)
    ).all()
    deals: dict[str, CampaignDeal] = {}
    for (opportunity_id, name, amount, stage, created_at, close_date, won, model, share,
         revenue, priced) in rows:
        deal = deals.setdefault(opportunity_id, CampaignDeal(
            opportunity_id, name, amount, stage, created_at, close_date, bool(won)))
        deal.credit[model] = Decimal(str(share or 0)).quantize(Decimal("0.000001"))
        deal.revenue[model] = Decimal(str(revenue or 0)).quantize(CENT) if priced else None
    return sorted(deals.values(), key=lambda d: (d.created is None, d.created, d.opportunity_id),
                  reverse=True)


@dataclass(frozen=True, slots=True)
class StoredCredit:
    """One stored credit row of an opportunity: a touch's (or the pending) share under a model."""

    model: str
    touch_id: str | None
    positions: tuple[str, ...]
    share: str
    credit: Decimal
    revenue: Decimal | None


@dataclass(frozen=True, slots=True)
class StoredResult:
    """What the last run stored for one opportunity under one model."""

    model: str
    unattributed: bool
    touches: int
    fingerprint: str


def opportunity_credits(
    session: Session, opportunity_id: str
) -> tuple[dict[str, StoredResult], list[StoredCredit]]:
    """The stored results (by model) and credit rows of one opportunity."""
    result = AttributionResult.__table__.c  # type: ignore[attr-defined]
    credit = AttributionCredit.__table__.c  # type: ignore[attr-defined]
    results = {
        row.model: StoredResult(row.model, bool(row.unattributed), int(row.touches),
                                row.fingerprint)
        for row in session.execute(
            select(result.model, result.unattributed, result.touches, result.fingerprint)
            .where(result.opportunity_id == opportunity_id)
        ).all()
    }
    credits = [
        StoredCredit(row.model, row.touch_id, tuple(row.positions.split(",")), row.share,
                     Decimal(str(row.credit)).quantize(Decimal("0.000001")),
                     None if row.revenue is None else Decimal(str(row.revenue)).quantize(CENT))
        for row in session.execute(
            select(credit.model, credit.touch_id, credit.positions, credit.share, credit.credit,
                   credit.revenue)
            .where(credit.opportunity_id == opportunity_id)
            .order_by(credit.model, credit.id)
        ).all()
    ]
    return results, credits


def journey_of(
    session: Session, settings: AttributionSettings, opportunity_id: str, now: datetime
) -> Journey | str:
    """The opportunity's journey as the engine builds it now, or why it cannot be attributed."""
    inputs = read_chunk(session, [opportunity_id], settings.people)
    deal = inputs.deals.get(opportunity_id)
    if deal is None:
        return inputs.skipped.get(opportunity_id, "not a live opportunity")
    return settings.journey(deal, inputs.touches_of(opportunity_id), now)
