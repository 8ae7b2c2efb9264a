"""Hub records for the touch tests, written through the ORM as the syncs write them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.models import Campaign, CampaignMember, Person, Touch


def add(engine: Engine, *records: Any) -> None:
    with Session(engine, expire_on_commit=False) as db:
        for record in records:  # parents first: the models declare no relationships to order by
            db.add(record)
            db.flush()
        db.commit()


def stored(engine: Engine, model: type[Any], record_id: str) -> Any:
    """The row as the database holds it now (a fresh session: nothing cached)."""
    with Session(engine) as db:
        found = db.get(model, record_id)
        assert found is not None, f"no {model.__name__} {record_id}"
        return found


def change(engine: Engine, record: Any, **values: Any) -> None:
    with Session(engine, expire_on_commit=False) as db:
        record = db.merge(record)
        for name, value in values.items():
            setattr(record, name, value)
        db.commit()


def person(email: str) -> Person:
    return Person(email=email)


def campaign(name: str, **values: Any) -> Campaign:
    return Campaign(name=name, **values)


def member(who: Person, what: Campaign, **values: Any) -> CampaignMember:
    return CampaignMember(person_id=who.id, campaign_id=what.id, **values)


def touches(engine: Engine, *, live: bool = True) -> list[Touch]:
    with Session(engine) as db:
        query = select(Touch).order_by(col(Touch.occurred_at), col(Touch.id))
        if live:
            query = query.where(col(Touch.deleted_at).is_(None))
        return list(db.exec(query).all())
