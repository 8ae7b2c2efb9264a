"""Reading attribution's inputs from the hub a chunk of opportunities at a time.

One chunk costs a fixed handful of queries whatever its size: the opportunities, their people
(contact roles, the primary role only, or the account's people, as the attribution file
says) and those people's live touches. Id lists are sent in slices small enough for any
database's limit on bound parameters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import String, and_, func, select, type_coerce, union
from sqlmodel import Session, col

from attribution.positions import Deal, TouchPoint
from core.clock import as_utc
from core.models import Link, Opportunity, OpportunityContactRole, Person, Touch

#: Ids per ``IN (...)`` list: under SQLite's historical 999-parameter limit.
SLICE = 900

T = TypeVar("T")


def text_of(column: Any) -> Any:
    """``column`` read as plain text, under its own name.

    SQLModel declares text columns through a type decorator whose result handling costs a
    Python call per value; the rows an incremental run reads back to compare (tens of
    thousands) come out about twice as fast this way, with the same strings.
    """
    return type_coerce(column, String).label(column.name)


def slices(ids: Iterable[T], size: int = SLICE) -> Iterator[list[T]]:
    """``ids`` in lists of at most ``size``."""
    batch: list[T] = []
    for item in ids:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class ChunkInputs:
    """What attribution needs of a chunk of opportunities, read in batched queries."""

    #: Live opportunities that can be attributed, by id.
    deals: dict[str, Deal] = field(default_factory=dict)
    #: Live opportunities whose data cannot be attributed, with the reason.
    skipped: dict[str, str] = field(default_factory=dict)
    #: Opportunity id → the people whose touches count for it.
    people: dict[str, set[str]] = field(default_factory=dict)
    #: Person id → that person's live touches.
    touches: dict[str, list[TouchPoint]] = field(default_factory=lambda: defaultdict(list))
    #: Touch id → its person (campaign influence is per person).
    touch_person: dict[str, str] = field(default_factory=dict)
    #: Opportunity id → the connection it was pulled from: its credit goes back there.
    crm: dict[str, str] = field(default_factory=dict)

    def touches_of(self, opportunity_id: str) -> list[TouchPoint]:
        """Every live touch of the opportunity's people (the journey selects among them)."""
        return [t for person in sorted(self.people.get(opportunity_id, ())) for t in
                self.touches.get(person, ())]


def _deal(row: Any) -> Deal | str:
    """An opportunity row as a :class:`Deal`, or why it cannot be attributed."""
    created = row.created_on or row.created_at
    if created is None:
        return "no creation time"
    # A won deal is closed, whatever a CRM sent: Salesforce's IsWon implies IsClosed.
    closed = bool(row.is_closed or row.is_won)
    if closed and row.close_date is None:
        return "closed without a close date"
    amount = None if row.amount is None else Decimal(str(row.amount))
    return Deal(
        id=row.id, created_at=as_utc(created), close_date=row.close_date if closed else None,
        is_closed=closed, is_won=bool(row.is_won), amount=amount,
    )


def read_chunk(session: Session, ids: Sequence[str], people: str) -> ChunkInputs:
    """Read the inputs of the opportunities ``ids`` (missing or deleted ones are left out)."""
    found = ChunkInputs()
    opportunity = Opportunity.__table__.c  # type: ignore[attr-defined]
    for batch in slices(ids):
        rows = session.execute(
            select(opportunity.id, opportunity.created_on, opportunity.created_at,
                   opportunity.close_date, opportunity.is_closed, opportunity.is_won,
                   opportunity.amount)
            .where(opportunity.id.in_(batch), opportunity.deleted_at.is_(None))
        ).all()
        for row in rows:
            deal = _deal(row)
            if isinstance(deal, Deal):
                found.deals[row.id] = deal
            else:
                found.skipped[row.id] = deal
    live = list(found.deals)
    link = Link.__table__.c  # type: ignore[attr-defined]
    for batch in slices(live):
        for opportunity_id, person_id in session.execute(_people_query(batch, people)).all():
            found.people.setdefault(opportunity_id, set()).add(person_id)
        # A deal linked twice (never, in practice) goes to the greatest connection name, as
        # migration 0015 decided for the rows it filled in.
        found.crm.update(session.execute(
            select(link.hub_id, func.max(link.connection))
            .where(link.hub_object == "opportunity", link.hub_id.in_(batch))
            .group_by(link.hub_id)
        ).all())
    persons = sorted({p for group in found.people.values() for p in group})
    touch = Touch.__table__.c  # type: ignore[attr-defined]
    for batch in slices(persons):
        rows = session.execute(
            select(touch.id, touch.person_id, touch.occurred_at, touch.touch_type,
                   touch.campaign_id, touch.channel)
            .where(touch.person_id.in_(batch), touch.deleted_at.is_(None),
                   touch.occurred_at.is_not(None))
        ).all()
        for row in rows:
            found.touches[row.person_id].append(TouchPoint(
                id=row.id, occurred_at=as_utc(row.occurred_at),
                touch_type=row.touch_type or "other", campaign_id=row.campaign_id,
                channel=row.channel,
            ))
            found.touch_person[row.id] = row.person_id
    return found


def _people_query(ids: list[str], people: str) -> Any:
    """(opportunity id, person id) pairs of the live people who count for ``ids``.

    Under either contact-role rule the deal's own primary contact (Dynamics names it on the
    opportunity) counts too, as a primary role would: a deal with no role rows keeps its
    person.
    """
    person = Person.__table__.c  # type: ignore[attr-defined]
    opportunity = Opportunity.__table__.c  # type: ignore[attr-defined]
    if people == "account_contacts":
        return (
            select(opportunity.id, person.id)
            .join(Person.__table__, and_(person.account_id == opportunity.account_id,
                               person.deleted_at.is_(None)))
            .where(opportunity.id.in_(ids), opportunity.account_id.is_not(None))
        )
    role = OpportunityContactRole.__table__.c  # type: ignore[attr-defined]
    roles = (
        select(role.opportunity_id, role.person_id)
        .join(Person.__table__, and_(person.id == role.person_id,
                                           person.deleted_at.is_(None)))
        .where(role.opportunity_id.in_(ids), role.deleted_at.is_(None))
    )
    if people == "primary_contact_role":
        roles = roles.where(role.is_primary.is_(True))
    primary_contacts = (
        select(opportunity.id, opportunity.primary_contact_id)
        .join(Person.__table__, and_(person.id == opportunity.primary_contact_id,
                                     person.deleted_at.is_(None)))
        .where(opportunity.id.in_(ids))
    )
    return union(roles, primary_contacts)


def opportunities_of_people(session: Session, person_ids: Iterable[str], people: str) -> set[str]:
    """Opportunities the given people count for now, under the attribution file's rule."""
    return {opportunity_id for _, opportunity_id in person_opportunities(
        session, person_ids, people)}


def person_opportunities(
    session: Session, person_ids: Iterable[str], people: str
) -> set[tuple[str, str]]:
    """(person id, opportunity id) pairs: whom each given person counts for now, by the rule."""
    found: set[tuple[str, str]] = set()
    role = OpportunityContactRole.__table__.c  # type: ignore[attr-defined]
    opportunity = Opportunity.__table__.c  # type: ignore[attr-defined]
    person = Person.__table__.c  # type: ignore[attr-defined]
    for batch in slices(sorted(set(person_ids))):
        if people == "account_contacts":
            query = (
                select(person.id, opportunity.id)
                .join(Person.__table__, person.account_id == opportunity.account_id)
                .where(person.id.in_(batch))
            )
        else:
            query = union(
                select(text_of(role.person_id), text_of(role.opportunity_id))
                .where(col(role.person_id).in_(batch)),
                select(text_of(opportunity.primary_contact_id), text_of(opportunity.id))
                .where(opportunity.primary_contact_id.in_(batch)),
            )
        found.update((row[0], row[1]) for row in session.execute(query).all())
    return found


def journey_windows(session: Session, ids: Iterable[str], lookback_days: int) -> dict[str, Any]:
    """Opportunity id → ``(start, end)`` of its journey (end None while open; up to now).

    A touch outside ``[start, end)`` is in no journey of that opportunity. An opportunity that
    cannot be attributed (or is deleted) maps to None: it has no rows whatever its touches.
    """
    windows: dict[str, Any] = {}
    opportunity = Opportunity.__table__.c  # type: ignore[attr-defined]
    for batch in slices(sorted(set(ids))):
        rows = session.execute(
            select(opportunity.id, opportunity.created_on, opportunity.created_at,
                   opportunity.close_date, opportunity.is_closed, opportunity.is_won,
                   opportunity.amount, opportunity.deleted_at)
            .where(opportunity.id.in_(batch))
        ).all()
        for row in rows:
            deal = None if row.deleted_at is not None else _deal(row)
            windows[row.id] = (
                (deal.created_at - timedelta(days=lookback_days), deal.closes_at)
                if isinstance(deal, Deal) else None)
    return windows
