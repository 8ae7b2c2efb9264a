"""The attribution report: one model's credit summed per campaign, channel or touch type.

Per group: the touches credited, the opportunities credited, the credit (a sum of shares: an
opportunity counts 1 in all), the **pipeline** (credit × amount over opportunities created in
the range) and the **revenue** (credit × amount over opportunities won with a close date in
the range). Money comes from the stored revenue shares, which add up to each amount exactly.

A date range keeps the opportunities created in it or won in it; without one, all count.
Two rows stand for what no touch earned: ``(pending)``, the share held back until a deal is
won (full path's CW on open and lost deals), and ``(no touches)``, opportunities without any
touch, whose whole credit and amount no campaign earned. Each appears only when it is not
empty, so the groups always add up to the opportunities in range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlmodel import Session

from core.models import AttributionCredit, AttributionResult, Campaign, Opportunity, Touch

GroupBy = Literal["campaign", "channel", "touch_type"]
GROUPINGS: tuple[str, ...] = ("campaign", "channel", "touch_type")
PENDING_GROUP = "(pending)"
NO_TOUCHES_GROUP = "(no touches)"
#: The documented keys of a report row, in order (``--json`` and ``--csv``).
KEYS = ("group", "model", "touches", "opportunities", "credit", "pipeline", "revenue")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group of the report."""

    group: str
    model: str
    touches: int
    opportunities: int
    credit: Decimal
    pipeline: Decimal
    revenue: Decimal

    def as_json(self) -> dict[str, object]:
        """The documented keys: credit as a number with 6 decimals, money with 2."""
        return {
            "group": self.group, "model": self.model, "touches": self.touches,
            "opportunities": self.opportunities, "credit": float(self.credit),
            "pipeline": float(self.pipeline), "revenue": float(self.revenue),
        }

    def cells(self) -> list[str]:
        """The row as text cells, in :data:`KEYS` order."""
        return [self.group, self.model, str(self.touches), str(self.opportunities),
                f"{self.credit:.6f}", f"{self.pipeline:.2f}", f"{self.revenue:.2f}"]


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive days; either end may be open."""

    start: date | None = None
    end: date | None = None

    def created(self, column: Any) -> ColumnElement[bool]:
        """``column`` (a creation time) falls on a day of the range."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= datetime.combine(self.start, time(0), tzinfo=UTC))
        if self.end is not None:
            after = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)
            conditions.append(column < after)
        return and_(true(), *conditions)

    def won(self, opportunity: Any) -> ColumnElement[bool]:
        """The opportunity was won with a close date in the range."""
        conditions = [opportunity.is_won.is_(True), opportunity.close_date.is_not(None)]
        if self.start is not None:
            conditions.append(opportunity.close_date >= self.start)
        if self.end is not None:
            conditions.append(opportunity.close_date <= self.end)
        return and_(*conditions)

    @property
    def whole(self) -> bool:
        """No bound at all: every opportunity is in range."""
        return self.start is None and self.end is None


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _group_label(by: str, touch: Any, campaign: Any) -> Any:
    if by == "campaign":
        label = case((touch.campaign_id.is_(None), literal("(no campaign)")),
                     else_=func.coalesce(campaign.name, touch.campaign_id))
    elif by == "channel":
        label = func.coalesce(touch.channel, campaign.channel, literal("(no channel)"))
    else:
        label = func.coalesce(touch.touch_type, literal("(no type)"))
    return case((touch.id.is_(None), literal(PENDING_GROUP)), else_=label)


def build_report(session: Session, model: str, by: str, dates: DateRange) -> list[ReportRow]:
    """The report's rows for ``model`` grouped ``by``, groups by name, special rows last."""
    credit = AttributionCredit.__table__.c  # type: ignore[attr-defined]
    touch = Touch.__table__.c  # type: ignore[attr-defined]
    campaign = Campaign.__table__.c  # type: ignore[attr-defined]
    opportunity = Opportunity.__table__.c  # type: ignore[attr-defined]
    created_at = func.coalesce(opportunity.created_on, opportunity.created_at)
    in_pipeline = dates.created(created_at)
    in_revenue = dates.won(opportunity)
    in_scope = true() if dates.whole else or_(in_pipeline, in_revenue, false())
    # The campaign id is part of the group so two campaigns sharing a name stay two rows.
    # The label is computed in a subquery: PostgreSQL cannot match a GROUP BY expression
    # holding bound parameters with the same expression in the select list.
    key = touch.campaign_id if by == "campaign" else literal_column("NULL")
    rows_in_scope = (
        select(
            _group_label(by, touch, campaign).label("grp"), key.label("grp_key"),
            credit.touch_id, credit.opportunity_id, credit.credit,
            case((in_pipeline, credit.revenue), else_=0).label("pipeline"),
            case((in_revenue, credit.revenue), else_=0).label("revenue"),
        )
        .select_from(AttributionCredit.__table__)  # type: ignore[attr-defined]
        .join(Opportunity.__table__, opportunity.id == credit.opportunity_id)  # type: ignore[attr-defined]
        .outerjoin(Touch.__table__, touch.id == credit.touch_id)  # type: ignore[attr-defined]
        .outerjoin(Campaign.__table__, campaign.id == touch.campaign_id)  # type: ignore[attr-defined]
        .where(credit.model == model, opportunity.deleted_at.is_(None), in_scope)
        .subquery()
    )
    r = rows_in_scope.c
    rows = session.execute(
        select(r.grp, r.grp_key, func.count(func.distinct(r.touch_id)),
               func.count(func.distinct(r.opportunity_id)), func.sum(r.credit),
               func.sum(r.pipeline), func.sum(r.revenue))
        .group_by(r.grp, r.grp_key)
    ).all()
    report = [
        ReportRow(str(row[0]), model, int(row[2]), int(row[3]),
                  Decimal(str(row[4] or 0)).quantize(Decimal("0.000001")),
                  _money(row[5]), _money(row[6]))
        for row in rows
    ]
    report.sort(key=lambda r: (r.group == PENDING_GROUP, r.group))
    result = AttributionResult.__table__.c  # type: ignore[attr-defined]
    amount = func.coalesce(opportunity.amount, 0)
    count, pipeline, revenue = session.execute(
        select(
            func.count(),
            func.sum(case((in_pipeline, amount), else_=0)),
            func.sum(case((in_revenue, amount), else_=0)),
        )
        .select_from(AttributionResult.__table__)  # type: ignore[attr-defined]
        .join(Opportunity.__table__, opportunity.id == result.opportunity_id)  # type: ignore[attr-defined]
        .where(result.model == model, result.unattributed.is_(True),
               opportunity.deleted_at.is_(None), in_scope)
    ).one()
    if count:
        report.append(ReportRow(NO_TOUCHES_GROUP, model, 0, int(count), Decimal(count),
                                _money(pipeline), _money(revenue)))
    return report
