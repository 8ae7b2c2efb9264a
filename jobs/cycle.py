"""State shared by the phases of one mapping's cycle: transactions, cursors, brake, errors."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connectors.base import Connector
from connectors.errors import ErrorKind
from core.hubschema import HubSchema
from core.models import HUB_MODELS, HubRecord, SyncState
from jobs import lease
from jobs.failures import FailureLog
from jobs.links import LinkIndex
from jobs.report import PlannedAction, RunReport
from mappings.spec import Mapping
from touches.programs import Programs

#: Called after each page: (phase, records handled so far in this phase).
Progress = Callable[[str, int], None]


class MassChangeBraked(Exception):  # noqa: N818 - the brake doing its job, not an error
    """A cycle would delete or blank more than the mapping allows; nothing past it was applied."""

    kind = ErrorKind.CONFIG
    code = "MASS_CHANGE_BRAKE"


class Brake:
    """Counts destructive changes (deletes, blanked values) against the mapping's limit.

    The limit depends on how many records are linked, which is counted only when a page has
    something destructive to check: an idle cycle over a million links never counts them.
    """

    def __init__(self, mapping: Mapping, linked: Callable[[], int], *, allow: bool) -> None:
        self.mapping = mapping
        self._linked = linked
        self.allow = allow
        self.count = 0
        self._limit: tuple[int, int] | None = None  # (linked, limit), once counted

    def check(self, destructive: int, direction: str) -> None:
        """Raise MassChangeBraked before applying a page that would cross the limit."""
        if self.allow or destructive == 0:
            self.count += destructive
            return
        if self._limit is None:
            linked = self._linked()
            floor, share = self.mapping.deletes.brake_floor, self.mapping.deletes.max_fraction
            self._limit = (linked, max(floor, int(share * linked)))
        linked, limit = self._limit
        if self.count + destructive > limit:
            share = self.mapping.deletes.max_fraction
            raise MassChangeBraked(
                f"{direction}: this cycle would delete or blank {self.count + destructive} of "
                f"{linked} linked records, above the limit of {limit} "
                f"(deletes.max_fraction {share:.0%}, "
                f"brake_floor {self.mapping.deletes.brake_floor}); "
                f"stopped before applying them"
            )
        self.count += destructive


@dataclass
class Cycle:
    """One run of one mapping: what every phase needs, and the report they fill in."""

    engine: Engine
    mapping: Mapping
    mappings: dict[str, Mapping]
    connector: Connector
    schema: HubSchema
    report: RunReport
    now: datetime
    run_id: int | None = None
    holder: str | None = None
    dry_run: bool = False
    allow_mass_change: bool = False
    progress: Progress | None = None
    stopping: threading.Event | None = None
    #: Channels and their status order, for the memberships a mapping's ``activity`` moves.
    programs: Programs | None = None
    _dry_session: Session | None = field(default=None, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One page's transaction: hub rows, links, errors and the cursor commit together.

        In a dry run every page shares one session that is rolled back at the end, so later
        phases see what earlier ones would have done while nothing is ever committed.
        """
        if self.dry_run:
            if self._dry_session is None:
                self._dry_session = Session(self.engine, expire_on_commit=False)
            yield self._dry_session
            self._dry_session.flush()
            return
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                if self.holder is not None:
                    lease.renew(session, self.mapping.name, self.holder)
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Throw away a dry run's session."""
        if self._dry_session is not None:
            self._dry_session.rollback()
            self._dry_session.close()
            self._dry_session = None

    def failures(self, session: Session, direction: str) -> FailureLog:
        """The error log for this mapping and direction inside ``session``."""
        return FailureLog(session, self.mapping.name, direction, self.run_id, self.now)

    def plan(self, action: PlannedAction) -> None:
        """Keep a record-level action for the dry-run listing."""
        if self.dry_run:
            self.report.planned.append(action)

    def stop_requested(self) -> bool:
        """True once shutdown began: phases stop at the next page boundary."""
        return self.stopping is not None and self.stopping.is_set()

    def tick(self, phase: str, handled: int) -> None:
        """Report progress to a terminal progress bar, if one is listening."""
        if self.progress is not None:
            self.progress(phase, handled)


def get_cursor(session: Session, mapping: str, direction: str) -> str | None:
    """The stored cursor of a mapping's direction (None before the first run)."""
    state = session.get(SyncState, (mapping, direction))
    return state.cursor if state else None


def set_cursor(
    session: Session, mapping: str, direction: str, cursor: str | None, now: datetime
) -> None:
    """Store a cursor in the caller's transaction (committed with the page it ends)."""
    state = session.get(SyncState, (mapping, direction))
    if state is None:
        state = SyncState(mapping=mapping, direction=direction)
    state.cursor = cursor
    state.updated_at = now
    session.add(state)


def count_links(engine: Engine, mapping: Mapping) -> Callable[[], int]:
    """How many records ``mapping`` links, counted when asked (the brake's denominator)."""

    def count() -> int:
        with Session(engine) as session:
            return LinkIndex(session, mapping).count()

    return count


def pending_pushes(engine: Engine, mapping: Mapping) -> int:
    """Hub records changed since the mapping's push cursor: what its next push has to look at."""
    if not mapping.direction.pushes:
        return 0
    with Session(engine) as session:
        cursor = int(get_cursor(session, mapping.name, "to_remote") or 0)
        return changed_since(session, HUB_MODELS[mapping.hub_object], cursor)


def changed_since(session: Session, model: type[HubRecord], cursor: int) -> int:
    """How many ``model`` records changed after ``cursor`` (a change_seq): a push's backlog."""
    return int(
        session.exec(
            select(func.count()).select_from(model).where(col(model.change_seq) > cursor)
        ).one()
    )
