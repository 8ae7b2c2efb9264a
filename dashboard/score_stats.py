"""The Scoring page's numbers, each one SQL aggregation: score histograms, the funnel, AQL per week.

Nothing loads people into Python: over a million people, the page costs a few scans. Custom
score fields live in the ``attributes`` JSON column, read with the dialect's JSON functions
(SQLite ``json_extract``, PostgreSQL ``->>``); a value that is not a number (a hand-edited
string) counts as no value rather than failing the query.

Those scans take seconds at a million people (``bench.score_page``), so each result is kept
until its data changes: every write to a person or account gives it a new ``change_seq``, and
``lifecycle_history`` only grows, so the largest ``change_seq`` and id (read from their
indexes) tell whether anything changed. The largest random hub id tells one database's data
from another's at the same URL.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Session, col, select

from attribution.report import DateRange
from core.hubschema import HubSchema
from core.models import Account, LifecycleHistory, Person

#: Most bars in a histogram: the bin width is the roundest step that keeps within it.
MAX_BINS = 20
SECONDS_PER_DAY = 86_400
#: Results kept (a few dozen date ranges and field lists, each a small list).
CACHE_SIZE = 64

_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()


def forget() -> None:
    """Drop every kept result (a benchmark's cold runs; nothing else needs it)."""
    with _cache_lock:
        _cache.clear()


def _version(session: Session, *columns: Any) -> tuple[Any, ...]:
    """The largest value of each column, one index lookup each.

    Scalar subqueries, as SQLite reads several min/max aggregates of one SELECT by a scan.
    """
    parts = [select(func.max(column)).scalar_subquery() for column in columns]
    return tuple(session.execute(select(*parts)).one())


def _cached(session: Session, key: tuple[Any, ...], version: tuple[Any, ...],
            compute: Callable[[], Any]) -> Any:
    """``compute()``, or what it gave for the same key while the data was at ``version``."""
    full = (session.get_bind().url.render_as_string(hide_password=True), *key, version)
    with _cache_lock:
        if full in _cache:
            _cache.move_to_end(full)
            return _cache[full]
    value = compute()
    with _cache_lock:
        _cache[full] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


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


def _raw_value(session: Session, model: Any, field: str, custom: bool) -> ColumnElement[Any]:
    """A score field as SQL reads it: its column, or its JSON value in ``attributes``.

    One JSON extraction per row: grouping on it and reading the numbers in Python (a few
    hundred distinct scores) is cheaper than testing the JSON type in SQL first.
    """
    if not custom:
        return getattr(model, field)  # type: ignore[no-any-return]
    if _dialect(session) == "postgresql":
        return model.attributes[field].as_string()  # type: ignore[no-any-return]
    return func.json_extract(model.attributes, '$."' + field.replace('"', "") + '"')


def _number(value: Any) -> float | None:
    """A stored score as a number; None for no value, a boolean or a text that is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


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
    """The distribution of each numeric ``fields`` of ``hub_object``: one scan per field.

    Each scan groups the live records by the field's value (scores are whole numbers, so a
    few hundred groups at most); the bins are made from those counts.
    """
    model = Person if hub_object == "person" else Account
    known = schema.fields(hub_object)
    wanted = tuple((f, known[f].custom) for f in fields if f in known)
    return list(_cached(session, ("histograms", hub_object, wanted),
                        _version(session, model.change_seq, model.id),
                        lambda: _histograms(session, model, wanted)))


def _histograms(
    session: Session, model: Any, fields: tuple[tuple[str, bool], ...]
) -> list[Histogram]:
    hub_object = "person" if model is Person else "account"
    found = []
    for field, custom in fields:
        raw = _raw_value(session, model, field, custom)
        rows = session.execute(select(raw, func.count()).where(
            col(model.deleted_at).is_(None)).group_by(raw)).all()
        records = sum(int(n) for _, n in rows)
        counts: dict[float, int] = {}
        for value, n in rows:
            number = _number(value)
            if number is not None:
                counts[number] = counts.get(number, 0) + int(n)
        low, high = (min(counts), max(counts)) if counts else (None, None)
        bins = _bins(counts, low, high) if low is not None and high is not None else ()
        found.append(Histogram(field, hub_object, records, sum(counts.values()), low, high,
                               bins))
    return found


def _bins(counts: dict[float, int], low: float, high: float) -> tuple[Bin, ...]:
    width = _step(high - low + 1)
    start = math.floor(low / width) * width
    last = int((high - start) // width)
    per_bin = [0] * (last + 1)
    for value, n in counts.items():
        per_bin[int((value - start) // width)] += n
    return tuple(Bin(start + i * width, width, n) for i, n in enumerate(per_bin))


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """A main-path stage: moves into it in the range, and how those people went on."""

    stage: str
    entered: int
    #: Of those entries, how many were followed by a move to a later main-path stage (by now).
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
    """Per main-path stage, in order: moves into it in the range, conversion, median days.

    One query over the moves since the range's start (``lifecycle_history``, so its cost
    follows the range, not the hub's age): a window function gives each move the person's
    next one, which says whether they went further and how many days it took. A person who
    enters a stage twice in the range (back from a detour) counts twice, as two entries.
    Moves of one run share a time: the row id (insertion order) breaks the tie.
    """
    if not stages:
        return []
    history = LifecycleHistory
    return list(_cached(session, ("funnel", tuple(stages), dates),
                        _version(session, history.id, history.person_id),
                        lambda: _funnel(session, list(stages), dates)))


def _funnel(session: Session, stages: list[str], dates: DateRange) -> list[FunnelStep]:
    rank = {name: i for i, name in enumerate(stages)}
    history = LifecycleHistory
    by_person: dict[str, Any] = {"partition_by": history.person_id,
                                 "order_by": (history.at, history.id)}
    moves = (select(col(history.to_stage).label("stage"), col(history.at).label("at"),
                    func.lead(history.to_stage).over(**by_person).label("next_stage"),
                    func.lead(history.at).over(**by_person).label("next_at"))
             .where(*_since(dates, col(history.at))).subquery("moves"))
    following = {stage: stages[i + 1] for i, stage in enumerate(stages[:-1])}
    # Days to the next main-path stage, for those who entered it next (to 0.01 day).
    days = case((moves.c.next_stage == case(following, value=moves.c.stage, else_=None),
                 func.round(_days(session, moves.c.next_at, moves.c.at), 2)), else_=None)
    further = case(rank, value=moves.c.next_stage, else_=-1) > case(rank, value=moves.c.stage)
    rows = session.execute(
        select(moves.c.stage, days, func.count(), func.sum(case((further, 1), else_=0)))
        .where(col(moves.c.stage).in_(list(stages)), dates.created(moves.c.at))
        .group_by(moves.c.stage, days)).all()
    entered: dict[str, int] = {}
    on: dict[str, int] = {}
    gaps: dict[str, list[tuple[float, int]]] = {}
    for stage, gap, n, went in rows:
        entered[stage] = entered.get(stage, 0) + int(n)
        on[stage] = on.get(stage, 0) + int(went or 0)
        if gap is not None:
            gaps.setdefault(stage, []).append((float(gap), int(n)))
    return [FunnelStep(stage, entered.get(stage, 0), on.get(stage, 0), following.get(stage),
                       _median(gaps.get(stage, [])))
            for stage in stages]


def _since(dates: DateRange, column: Any) -> list[ColumnElement[bool]]:
    """Moves from the range's first day on: the entries in it and the moves that follow them."""
    return [] if dates.start is None else [DateRange(dates.start, None).created(column)]


def _median(counted: list[tuple[float, int]]) -> float | None:
    """The median of values given with their counts: the middle one, or the middle two's mean."""
    total = sum(n for _, n in counted)
    if not total:
        return None
    wanted = {(total - 1) // 2, total // 2}
    picked, seen = [], 0
    for value, n in sorted(counted):
        picked.extend(value for position in wanted if seen <= position < seen + n)
        seen += n
    return sum(picked) / len(picked)


def aql_weeks(session: Session, dates: DateRange) -> list[tuple[date, int]]:
    """People qualified (``aql``) per week of ``aql_at`` (weeks start on Monday), gaps as 0."""
    return list(_cached(session, ("aql", dates), _version(session, Person.change_seq, Person.id),
                        lambda: _aql_weeks(session, dates)))


def _aql_weeks(session: Session, dates: DateRange) -> list[tuple[date, int]]:
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

