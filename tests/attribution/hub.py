"""A hub built by hand for attribution tests: people, touches, opportunities, contact roles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from core import db
from core.models import (
    Account,
    AttributionCredit,
    Campaign,
    CampaignInfluence,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)

WEIGHTED = """\
people: contact_roles
lookback_days: 365
models: [first_touch, w_shaped, full_path]
"""


def when(text: str) -> datetime:
    """``"2026-03-01 10:00"`` as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add(engine: Engine, *records: Any) -> None:
    """Write records in one transaction (their ids are set by the caller)."""
    with db.session(engine) as session:
        for record in records:
            session.add(record)


def person(person_id: str, account: str | None = None) -> Person:
    return Person(id=person_id, email=f"{person_id}@example.com", account_id=account)


def campaign(campaign_id: str, channel: str) -> Campaign:
    return Campaign(id=campaign_id, name=campaign_id.title(), channel=channel)


def touch(touch_id: str, who: str, at: str, kind: str, campaign_id: str | None = None) -> Touch:
    return Touch(id=touch_id, person_id=who, occurred_at=when(at), touch_type=kind,
                 campaign_id=campaign_id)


def opportunity(
    opportunity_id: str, created: str, *, amount: float | None = 1000.0,
    closed: str | None = None, won: bool = False, account: str | None = None,
) -> Opportunity:
    return Opportunity(
        id=opportunity_id, name=opportunity_id, amount=amount, created_on=when(created),
        close_date=date.fromisoformat(closed) if closed else None, is_closed=closed is not None,
        is_won=won, account_id=account,
    )


def role(opportunity_id: str, person_id: str, primary: bool = False) -> OpportunityContactRole:
    return OpportunityContactRole(id=f"{opportunity_id}-{person_id}",
                                  opportunity_id=opportunity_id, person_id=person_id,
                                  is_primary=primary)


def credits(engine: Engine, model: str) -> dict[tuple[str, str | None], tuple[str, str, float]]:
    """(opportunity, touch) → (exact share, positions, revenue) of one model."""
    with Session(engine) as session:
        rows = session.execute(
            select(AttributionCredit).where(AttributionCredit.model == model)  # type: ignore[arg-type]
        ).scalars()
        return {(r.opportunity_id, r.touch_id): (r.share, r.positions, r.revenue) for r in rows}


InfluenceRows = dict[tuple[str, str, str, str], tuple[float, float | None, int, bool]]


def influence(engine: Engine) -> InfluenceRows:
    """Every campaign_influence row: key → (influence, revenue, change_seq, deleted)."""
    with Session(engine) as session:
        rows = session.execute(select(CampaignInfluence)).scalars()
        return {
            (r.opportunity_id, r.campaign_id, r.person_id, r.model):
                (r.influence, r.revenue, r.change_seq, r.deleted_at is not None)
            for r in rows
        }


def story(engine: Engine) -> None:
    """Won deal W (Ann and Bob), open deal O (Ann alone), open deal N (Cy, who has no touch)."""
    add(engine, Account(id="acme", name="Acme"))
    add(engine, person("ann", "acme"), person("bob", "acme"), person("cy"),
        campaign("ads", "Paid"), campaign("webinar", "Webinar"), campaign("news", "Email"))
    add(engine,
        touch("t1", "ann", "2026-01-10 09:00", "web_visit", "ads"),
        touch("t2", "ann", "2026-02-01 09:00", "form_fill", "webinar"),
        touch("t3", "bob", "2026-02-20 09:00", "email_click", "news"),
        touch("t4", "bob", "2026-03-20 09:00", "event"),
        opportunity("W", "2026-03-01 10:00", amount=1000.0, closed="2026-04-10", won=True),
        opportunity("O", "2026-03-01 10:00", amount=600.0),
        opportunity("N", "2026-03-05 10:00", amount=500.0))
    add(engine, role("W", "ann", primary=True), role("W", "bob"), role("O", "ann"),
        role("N", "cy"))
