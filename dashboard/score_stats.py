"""The Scoring page's numbers, each one SQL aggregation: score histograms, the funnel, AQL per week.

Nothing loads people into Python: over a million people, the page costs a few scans. Custom
score fields live in the ``attributes`` JSON column, read with the dialect's JSON functions
(SQLite ``json_extract``, PostgreSQL ``->>``); a value that is not a number (a hand-edited
string) counts as no value rather than failing the query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, case, cast, exists, func, literal
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from attribution.report import DateRange
from core.hubschema import HubSchema
from core.models import Account, LifecycleHistory, Person

#: Most bars in a histogram: the bin width is the roundest step that keeps within it.
MAX_BINS = 20
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Bin:
    """People (or accounts) whose score is in ``[start, start + width)``."""

    start: float
    width: float
    count: int

    @property
    def label(self) -> str:
        """``20–29`` for whole-number bins, ``20–30`` otherwise; a single value alone."""
        end = self.start + self.width
        if self.width == 1:
            return f"{self.start:g}"
        if float(self.start).is_integer() and float(self.width).is_integer():
            return f"{self.start:g}–{end - 1:g}"
        return f"{self.start:g}–{end:g}"


@dataclass(frozen=True, slots=True)
class Histogram:
    """One score field's distribution over the live records of its object."""

    field: str
    hub_object: str
    records: int  # live records of the object
    scored: int  # of them, with a numeric value
    low: float | None
    high: float | None
    bins: tuple[Bin, ...]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def score_value(session: Session, model: Any, field: str, custom: bool) -> ColumnElement[Any]:
    """The numeric value of a score field in SQL: its column, or its number in ``attributes``."""
    if not custom:
        return cast(getattr(model, field), Float)
    item = model.attributes[field]
    if _dialect(session) == "postgresql":
        return case((func.json_typeof(item) == "number", item.as_float()), else_=None)
    path = '$."' + field.replace('"', "") + '"'
    kind = func.json_type(model.attributes, path)
    return case((kind.in_(("integer", "real")), item.as_float()), else_=None)


def _step(span: float) -> float:
    """The bin width: 1, 2 or 5 × 10ⁿ, at least 1 (scores are whole), that fits MAX_BINS."""
    raw = span / MAX_BINS
    if raw <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if raw <= m * power * (1 + 1e-9))


def histograms(
    session: Session, schema: HubSchema, hub_object: str, fields: Sequence[str]
) -> list[Histogram]:
    """The distribution of each numeric ``fields`` of ``hub_object``: two scans per field."""
    model = Person if hub_object == "person" else Account
    known = schema.fields(hub_object)
    fields = [f for f in fields if f in known]
    live = col(model.deleted_at).is_(None)
    values = {f: score_value(session, model, f, known[f].custom) for f in fields}
    # One scan for every field's count and range: the bins need the range first.
    columns: list[Any] = [func.count()]
    for value in values.values():
        columns += [func.count(value), func.min(value), func.max(value)]
    row = session.execute(select(*columns).where(live)).one()
    records, found = int(row[0]), []
    for index, field in enumerate(fields):
        scored, low, high = row[1 + 3 * index:4 + 3 * index]
        bins: tuple[Bin, ...] = ()
        if scored:
            bins = _bins(session, model, values[field], float(low), float(high))
        found.append(Histogram(field, hub_object, records, int(scored),
                               None if low is None else float(low),
                               None if high is None else float(high), bins))
    return found


def _bins(session: Session, model: Any, value: ColumnElement[Any], low: float,
          high: float) -> tuple[Bin, ...]:
    width = _step(high - low + 1)
    start = math.floor(low / width) * width
    offset = (value - literal(start)) / literal(width)
    # (value - start) >= 0, so truncation is floor; PostgreSQL's cast would round instead.
    index = (cast(func.floor(offset), Integer) if _dialect(session) == "postgresql"
             else cast(offset, Integer))
    rows = session.execute(select(index, func.count()).where(
        col(model.deleted_at).is_(None), value.is_not(None)).group_by(index)).all()
    counts = {int(i): int(n) for i, n in rows}
    last = int((high - start) // width)
    return tuple(Bin(start + i * width, width, counts.get(i, 0)) for i in range(last + 1))


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """A main-path stage: people who entered it in the range, and how they went on."""

    stage: str
    entered: int
    #: Of them, how many reached a later main-path stage afterwards (by now).
    went_on: int
    #: The next main-path stage, and the median days to it of those who went there next.
    next_stage: str | None
    median_days: float | None

    @property
    def conversion(self) -> float | None:
        """``went_on / entered`` (None when nobody entered)."""
        return self.went_on / self.entered if self.entered else None


def _days(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    if _dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier) / SECONDS_PER_DAY
    return func.julianday(later) - func.julianday(earlier)


def funnel(session: Session, stages: Sequence[str], dates: DateRange) -> list[FunnelStep]:
    """Per main-path stage, in order: entries in the range, conversion onwards, median days."""
    if not stages:
        return []
    rank = {name: i for i, name in enumerate(stages)}
    history = LifecycleHistory
    # A person's first entry into each stage within the range (a recycled lead re-enters).
    entries = (select(col(history.person_id).label("person_id"),
                      col(history.to_stage).label("stage"),
                      func.min(history.at).label("at"))
               .where(dates.created(col(history.at)), col(history.to_stage).in_(list(stages)))
               .group_by(history.person_id, history.to_stage).subquery("entries"))
    later = aliased(history)
    entry_rank = case(rank, value=entries.c.stage, else_=-1)
    went_on = exists().where(
        later.person_id == entries.c.person_id, later.at >= entries.c.at,
        case(rank, value=later.to_stage, else_=-1) > entry_rank)
    rows = session.execute(
        select(entries.c.stage, func.count(), func.sum(case((went_on, 1), else_=0)))
        .group_by(entries.c.stage)).all()
    counts = {stage: (int(n), int(on or 0)) for stage, n, on in rows}
    steps = []
    for index, stage in enumerate(stages):
        entered, on = counts.get(stage, (0, 0))
        following = stages[index + 1] if index + 1 < len(stages) else None
        median = (_median_days(session, entries, stage, following)
                  if following and on else None)
        steps.append(FunnelStep(stage, entered, on, following, median))
    return steps


def _median_days(session: Session, entries: Any, stage: str, following: str) -> float | None:
    """The median days from entering ``stage`` (in the range) to next entering ``following``."""
    nxt = aliased(LifecycleHistory)
    reached = (select(func.min(nxt.at)).where(nxt.person_id == entries.c.person_id,
                                              nxt.to_stage == following,
                                              nxt.at >= entries.c.at)
               .scalar_subquery())
    gaps = (select(_days(session, reached, entries.c.at).label("days"))
            .where(entries.c.stage == stage).subquery("gaps"))
    days = gaps.c.days
    total = session.execute(select(func.count(days))).scalar_one()
    if not total:
        return None
    # Median without percentile functions (SQLite has none): the middle one or two, sorted.
    middle = session.execute(select(days).where(days.is_not(None)).order_by(days)
                             .offset((total - 1) // 2).limit(2 - total % 2)).scalars().all()
    return sum(float(d) for d in middle) / len(middle)


def aql_weeks(session: Session, dates: DateRange) -> list[tuple[date, int]]:
    """People qualified (``aql``) per week of ``aql_at`` (weeks start on Monday), gaps as 0."""
    at = col(Person.aql_at)
    if _dialect(session) == "postgresql":
        week: ColumnElement[Any] = func.to_char(func.date_trunc("week", at), "YYYY-MM-DD")
    else:
        week = func.date(at, "-6 days", "weekday 1")
    rows = session.execute(
        select(week, func.count())
        .where(col(Person.aql).is_(True), at.is_not(None), col(Person.deleted_at).is_(None),
               dates.created(at))
        .group_by(week)).all()
    counts = {date.fromisoformat(str(w)[:10]): int(n) for w, n in rows if w}
    if not counts and (dates.start is None or dates.end is None):
        return []
    first = _monday(dates.start or min(counts))
    last = _monday(dates.end or max(counts))
    weeks, day = [], first
    while day <= last:
        weeks.append((day, counts.get(day, 0)))
        day += timedelta(days=7)
    return weeks


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())

