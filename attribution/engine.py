"""Computing attribution into the hub: every configured model for every opportunity that changed.

A run reads the hub's change sequence up to the number current when it starts (``upto``) and
recomputes the opportunities whose inputs changed since the last run's ``upto``:

- the opportunity itself (amount, dates, stage, account, deletion);
- one of its contact roles (added, removed, made primary);
- a person who counts for it, now or at its last computation (``attribution_person``);
- one of their touches: a changed touch dirties the opportunities it was credited on (where
  it was) and those of its person whose journey window holds its new time (where it is now).
  That needs the credit rows to list every touch of every journey, which a model crediting
  them all guarantees (``linear``, ``full_path``); without one, a changed touch dirties every
  opportunity its person is on.

Since every hub write takes the next number of one counter in commit order, everything at or
below ``upto`` is committed when the run reads it, and what commits later is above it: the
next run sees it. A chunk of opportunities (1,000 by default) is read in a few batched
queries and its rows replaced in one transaction; the cursors move only when every chunk is
done, so a crash costs a redo, never a miss. A different attribution file (models edited,
another lookback) recomputes everything, as ``--full`` does.

Open opportunities' journeys run up to now: a touch stamped in the future counts once its
time has come, at the opportunity's next recompute.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlmodel import Session

from attribution.config import ATTRIBUTION_FILE, AttributionSettings, load_settings
from attribution.influence import Influence, InfluenceTotals, drop_models, write_influence
from attribution.inputs import (
    ChunkInputs,
    journey_windows,
    opportunities_of_people,
    person_opportunities,
    read_chunk,
    slices,
    text_of,
)
from attribution.models import Attribution, credits_every_touch
from attribution.money import revenue_shares
from attribution.store import replace_rows, update_rows
from core import db
from core.clock import as_utc, utcnow
from core.models import (
    AttributionCredit,
    AttributionCursor,
    AttributionPerson,
    AttributionResult,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)
from core.models.attribution import PENDING
from core.sequence import current_seq, hold

#: The input tables whose change sequence a run follows, by cursor name.
INPUTS: dict[str, Any] = {
    "opportunity": Opportunity,
    "opportunity_contact_role": OpportunityContactRole,
    "person": Person,
    "touch": Touch,
}
#: The cursor row holding the fingerprint of the attribution settings last computed with.
SETTINGS_CURSOR = "settings"
CHUNK = 1000


def settings_in(folder: Path) -> AttributionSettings:
    """The attribution file of a mappings folder, or every default when there is none."""
    path = folder / ATTRIBUTION_FILE
    return load_settings(path) if path.exists() else AttributionSettings()


def fingerprint(settings: AttributionSettings) -> str:
    """What the results depend on in the settings (not where they were read from)."""
    described = repr((settings.people, settings.lookback_days,
                      sorted(settings.lead_creation_types), [repr(m) for m in settings.models]))
    return hashlib.sha256(described.encode()).hexdigest()


@dataclass
class RunReport:
    """What one run did: the counts ``syncline attribution run`` prints."""

    full: bool = False
    opportunities: int = 0  # recomputed (deleted ones included: their rows went)
    credit_rows: int = 0  # written
    unattributed: int = 0  # recomputed opportunities without a touch
    influence_rows: int = 0  # campaign_influence rows created, changed or deleted
    skipped: dict[str, str] = field(default_factory=dict)  # opportunity → why
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        """The documented JSON keys."""
        return {
            "mode": "full" if self.full else "incremental",
            "opportunities": self.opportunities,
            "credit_rows": self.credit_rows,
            "unattributed": self.unattributed,
            "campaign_influence_rows": self.influence_rows,
            "skipped": len(self.skipped),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Computed:
    """One chunk's new rows, ready to write."""

    credits: list[dict[str, object]] = field(default_factory=list)
    results: list[dict[str, object]] = field(default_factory=list)
    people: list[dict[str, object]] = field(default_factory=list)
    influence: dict[Any, Influence] = field(default_factory=dict)
    unattributed: int = 0


def run(
    engine: Engine,
    settings: AttributionSettings,
    *,
    full: bool = False,
    chunk_size: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> RunReport:
    """Recompute what changed since the last run (everything with ``full``); see the module."""
    started = time.perf_counter()
    print_ = fingerprint(settings)
    names = [m.name for m in settings.models]
    with db.session(engine) as session:
        upto = current_seq(session)
        cursors = {c.name: c for c in session.exec(select(AttributionCursor)).scalars()}
        known = cursors.get(SETTINGS_CURSOR)
        full = full or known is None or known.fingerprint != print_ or any(
            name not in cursors for name in INPUTS)
        if full:
            targets = _all_opportunities(session)
        else:
            since = min(cursors[name].seq for name in INPUTS)
            targets = _dirty(session, since, upto, settings)
    report = RunReport(full=full)
    if not full and not targets and all(cursors[name].seq == upto for name in INPUTS):
        # Idle: nothing changed in the hub since the last run, so nothing is written either.
        report.seconds = time.perf_counter() - started
        return report
    if full:
        with db.session(engine) as session:
            _drop_other_models(session, names)
    done = 0
    for chunk in slices(sorted(targets), chunk_size):
        with db.session(engine) as session:
            now = utcnow()
            inputs = read_chunk(session, chunk, settings.people)
            computed = _compute(inputs, settings, now, print_, upto)
            report.influence_rows += _write(session, chunk, computed, now, full)
        report.opportunities += len(chunk)
        report.credit_rows += len(computed.credits)
        report.unattributed += computed.unattributed
        report.skipped.update(inputs.skipped)
        done += len(chunk)
        if progress:
            progress(done)
    with db.session(engine) as session:
        hold(session)  # another run moving the cursors at the same time waits, then updates
        now = utcnow()
        for name in [*INPUTS, SETTINGS_CURSOR]:
            cursor = session.get(AttributionCursor, name) or AttributionCursor(name=name)
            cursor.seq = upto
            cursor.fingerprint = print_ if name == SETTINGS_CURSOR else None
            cursor.updated_at = now
            session.add(cursor)
    report.seconds = time.perf_counter() - started
    return report


def _all_opportunities(session: Session) -> set[str]:
    ids = set(session.execute(select(Opportunity.id)).scalars())  # type: ignore[call-overload]
    ids.update(session.execute(select(AttributionResult.opportunity_id)).scalars())  # type: ignore[call-overload]
    return ids


def _drop_other_models(session: Session, names: list[str]) -> None:
    """A model taken out of the file leaves no rows behind."""
    for table in (AttributionCredit, AttributionResult):
        session.execute(delete(table).where(table.model.not_in(names)))  # type: ignore[attr-defined]
    drop_models(session, names, utcnow())


def _changed(
    session: Session, model: Any, columns: Iterable[Any], since: int, upto: int
) -> list[Any]:
    return list(session.execute(
        select(*columns).where(model.change_seq > since, model.change_seq <= upto)
    ).all())


def _dirty(session: Session, since: int, upto: int, settings: AttributionSettings) -> set[str]:
    """Opportunities whose inputs changed in ``(since, upto]``."""
    dirty = {row[0] for row in _changed(session, Opportunity, [Opportunity.id], since, upto)}
    dirty.update(row[0] for row in _changed(
        session, OpportunityContactRole, [OpportunityContactRole.opportunity_id], since, upto))
    persons = {row[0] for row in _changed(session, Person, [Person.id], since, upto)}
    touches = _changed(session, Touch, [Touch.id, Touch.person_id, Touch.occurred_at,
                                        Touch.deleted_at], since, upto)
    # Where a changed touch was: the opportunities it was credited on.
    credit = AttributionCredit.__table__.c  # type: ignore[attr-defined]
    for batch in slices(sorted({row[0] for row in touches})):
        dirty.update(session.execute(
            # A touch has a row per model on each deal: deduplicated in the database.
            select(text_of(credit.opportunity_id)).distinct()
            .where(credit.touch_id.in_(batch))).scalars())
    if any(credits_every_touch(model) for model in settings.models):
        # Those credit rows list every touch of every journey, so a touch that was in none
        # matters only where it is now: the opportunities of its person whose journey window
        # holds its new time (1 % of touches moving dirties far fewer deals this way).
        dirty.update(_windows_reached(session, touches, settings))
    else:
        persons.update(row[1] for row in touches if row[1] is not None)
    dirty.update(_opportunities_of(session, persons, settings.people))
    return dirty


def _opportunities_of(session: Session, persons: set[str], people: str) -> set[str]:
    """Every opportunity the people count for now or counted for at its last computation."""
    found = opportunities_of_people(session, persons, people)
    computed_for = AttributionPerson.__table__.c  # type: ignore[attr-defined]
    for batch in slices(sorted(persons)):
        found.update(session.execute(
            select(text_of(computed_for.opportunity_id))
            .where(computed_for.person_id.in_(batch))
        ).scalars())
    return found


def _windows_reached(
    session: Session, touches: list[Any], settings: AttributionSettings
) -> set[str]:
    """Opportunities of the touches' people whose journey window holds a live touch's time."""
    live = [row for row in touches
            if row.person_id is not None and row.deleted_at is None
            and row.occurred_at is not None]
    persons = {row.person_id for row in live}
    pairs = person_opportunities(session, persons, settings.people)
    computed_for = AttributionPerson.__table__.c  # type: ignore[attr-defined]
    for batch in slices(sorted(persons)):
        pairs.update((person_id, opportunity_id) for person_id, opportunity_id in session.execute(
            select(text_of(computed_for.person_id), text_of(computed_for.opportunity_id))
            .where(computed_for.person_id.in_(batch))).all())
    of_person: dict[str, set[str]] = {}
    for person_id, opportunity_id in pairs:
        of_person.setdefault(person_id, set()).add(opportunity_id)
    windows = journey_windows(session, {o for _, o in pairs}, settings.lookback_days)
    found: set[str] = set()
    for row in live:
        at = as_utc(row.occurred_at)
        for opportunity_id in of_person.get(row.person_id, ()):
            if opportunity_id not in windows:  # no such row (anymore): let the run see
                found.add(opportunity_id)
                continue
            window = windows[opportunity_id]
            # Open deals' journeys end now; any later time is kept here, which costs little.
            if window is not None and at >= window[0] and (window[1] is None or at < window[1]):
                found.add(opportunity_id)
    return found


def _fraction(value: Fraction) -> Decimal:
    """A share as the 18-decimal number stored beside its exact form."""
    return Decimal(value.numerator * 10**18 // value.denominator) / Decimal(10**18)


def _compute(
    inputs: ChunkInputs, settings: AttributionSettings, now: datetime, print_: str, upto: int
) -> _Computed:
    out = _Computed()
    for opportunity_id in sorted(inputs.deals):
        deal = inputs.deals[opportunity_id]
        journey = settings.journey(deal, inputs.touches_of(opportunity_id), now)
        results: list[Attribution] = [model.attribute(journey) for model in settings.models]
        out.people.extend({"opportunity_id": opportunity_id, "person_id": person}
                          for person in sorted(inputs.people.get(opportunity_id, ())))
        if not journey.touches:
            out.unattributed += 1
        totals = InfluenceTotals()
        campaign = {t.id: t.campaign_id for t in journey.touches}
        for result in results:
            out.results.append({
                "opportunity_id": opportunity_id, "model": result.model,
                "unattributed": result.unattributed, "touches": len(journey.touches),
                "fingerprint": print_, "seq": upto,
            })
            if result.unattributed:
                continue
            money: list[Decimal | None] = (
                list(revenue_shares(deal.amount, result)) if deal.amount is not None
                else [None] * (len(result.credits) + 1)
            )
            for credit, revenue in zip(result.credits, money, strict=False):
                out.credits.append(_credit_row(opportunity_id, result.model, credit.touch_id,
                                               ",".join(credit.positions), credit.credit, revenue))
                if campaign[credit.touch_id] is not None:
                    key = (opportunity_id, campaign[credit.touch_id],
                           inputs.touch_person[credit.touch_id], result.model)
                    totals.add(key, credit.credit, revenue)
            if result.pending:
                out.credits.append(_credit_row(opportunity_id, result.model, None, PENDING,
                                               result.pending, money[-1]))
        out.influence.update(totals.rows(inputs.crm.get(opportunity_id)))
    return out


def _credit_row(
    opportunity_id: str, model: str, touch_id: str | None, positions: str, share: Fraction,
    revenue: Decimal | None,
) -> dict[str, object]:
    return {
        "opportunity_id": opportunity_id, "model": model, "touch_id": touch_id,
        "positions": positions, "share": f"{share.numerator}/{share.denominator}",
        "credit": _fraction(share), "revenue": None if revenue is None else float(revenue),
    }


def _write(
    session: Session, chunk: list[str], computed: _Computed, now: datetime, full: bool
) -> int:
    """Replace the chunk's rows (deleted and skipped opportunities end up with none)."""
    # The hub counter's lock, taken before reading the chunk's rows: a second run writing
    # the same opportunities (the scheduler's hub step and the command) waits here and then
    # sees this one's rows, instead of inserting them a second time.
    hold(session)
    write = replace_rows if full else update_rows
    write(session, chunk, computed.credits, computed.results, computed.people)
    return write_influence(session, chunk, computed.influence, now)
