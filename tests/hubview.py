"""The hub as a test sees it: add and edit people, read rows, links and errors (any backend)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from core.clock import utcnow
from core.models import CampaignMember, Link, Person, SyncError, SyncRun, SyncState
from tests.causecounts import assert_cause_counts


class HubView:
    """Reads and writes hub rows directly, the way another app on the hub database would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, record: SQLModel) -> str:
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(record)
            session.commit()
            return str(record.id)  # type: ignore[attr-defined]

    def add_person(self, **values: Any) -> str:
        return self.add(Person(**values))

    def edit_person(self, person_id: str, **values: Any) -> None:
        with Session(self.engine) as session:
            person = session.get(Person, person_id)
            assert person is not None
            for key, value in values.items():
                setattr(person, key, value)
            session.add(person)
            session.commit()

    def person(self, person_id: str) -> Person:
        with Session(self.engine, expire_on_commit=False) as session:
            person = session.get(Person, person_id)
            assert person is not None
            return person

    def people(self, *, live: bool = True) -> list[Person]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = list(session.exec(select(Person).order_by(Person.email)))
        return [p for p in rows if p.deleted_at is None] if live else rows

    def person_by_email(self, email: str) -> Person:
        matches = [p for p in self.people() if p.email == email]
        assert len(matches) == 1, f"{len(matches)} hub people with {email}"
        return matches[0]

    def members(self) -> list[CampaignMember]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = list(session.exec(select(CampaignMember)))
        return [m for m in rows if m.deleted_at is None]

    def links(self, hub_id: str | None = None) -> list[Link]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = list(session.exec(select(Link)))
        return [link for link in rows if hub_id is None or link.hub_id == hub_id]

    def link_of(self, hub_id: str) -> Link | None:
        return next(iter(self.links(hub_id)), None)

    def remote_ids(self, hub_id: str) -> dict[str, str]:
        """``{remote object: remote id}`` of a hub record's links."""
        return {link.remote_object: link.remote_id for link in self.links(hub_id)}

    def errors(self, *statuses: str) -> list[SyncError]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = list(session.exec(select(SyncError).order_by(SyncError.id)))
        # Every test that reads errors also checks the grouped view's counts kept up.
        assert_cause_counts(self.engine)
        return [e for e in rows if not statuses or e.status in statuses]

    def cursor(self, mapping: str, direction: str) -> str | None:
        """A mapping's stored cursor for ``direction``; ``"no row"`` before it was ever set."""
        with Session(self.engine) as session:
            state = session.get(SyncState, (mapping, direction))
            return state.cursor if state is not None else "no row"

    def runs(self) -> list[SyncRun]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(SyncRun).order_by(SyncRun.id)))

    def make_retries_due(self) -> None:
        """Pretend the backoff of every retrying error has passed."""
        with Session(self.engine) as session:
            for row in session.exec(select(SyncError).where(SyncError.status == "retrying")):
                row.next_retry_at = utcnow() - timedelta(seconds=1)
                session.add(row)
            session.commit()
