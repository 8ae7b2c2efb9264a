"""The scoring engine: a person's (or an account's) scores from the rules, pure and deterministic.

Nothing here reads or writes the database: callers pass plain mappings of a person's and an
account's fields (``HubSchema.values``: custom fields at the top level) and the person's
touches as :class:`TouchFacts`. The same input gives the same result in any order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.models import Touch
from mappings.expressions import ExpressionError
from scoring import decay as decays
from scoring.points import Contribution, round_half_up
from scoring.spec import BehavioralRule, Scoring

__all__ = [
    "AccountScore", "Contribution", "PersonScores", "TouchFacts", "next_decay_at",
    "next_decay_of", "score_account", "score_person",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class TouchFacts:
    """What scoring needs of one touch; ``campaign`` is the campaign's name."""

    id: str
    occurred_at: datetime | None
    touch_type: str | None = None
    channel: str | None = None
    campaign: str | None = None
    campaign_id: str | None = None
    source: str | None = None
    medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    landing_page: str | None = None
    origin: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    person_id: str | None = None

    @classmethod
    def of(cls, touch: Touch, campaign: str | None = None) -> TouchFacts:
        """The facts of a hub touch (``campaign``: its campaign's name, when it has one)."""
        return cls(
            id=str(touch.id), occurred_at=touch.occurred_at, touch_type=touch.touch_type,
            channel=touch.channel, campaign=campaign, campaign_id=touch.campaign_id,
            source=touch.source, medium=touch.medium, utm_campaign=touch.utm_campaign,
            utm_content=touch.utm_content, utm_term=touch.utm_term,
            landing_page=touch.landing_page, origin=touch.origin,
            detail=dict(touch.detail or {}), person_id=touch.person_id,
        )

    def values(self) -> dict[str, Any]:
        """Fields as rules read them: ``when`` sees these, ``touch:`` also ``detail.<key>``."""
        out = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        out.pop("person_id")
        out["detail"] = dict(self.detail)
        for key, value in self.detail.items():
            out[f"detail.{key}"] = value
        return out


@dataclass(frozen=True)
class PersonScores:
    """A person's scores (every score field of the file) and why: each contribution."""

    values: Mapping[str, int | None]
    contributions: tuple[Contribution, ...] = ()
    #: Conditions that could not be evaluated on this person (they counted as false).
    problems: tuple[str, ...] = ()

    def __getitem__(self, score: str) -> int | None:
        return self.values[score]


@dataclass(frozen=True)
class AccountScore:
    """An account's scores and the contributions making them."""

    values: Mapping[str, int]
    contributions: tuple[Contribution, ...] = ()
    problems: tuple[str, ...] = ()

    def __getitem__(self, score: str) -> int:
        return self.values[score]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flat(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A record's fields, custom ones (``attributes``) at the top level as HubSchema.values."""
    if record is None:
        return None
    out = {k: v for k, v in record.items() if k != "attributes"}
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping):
        for key, value in attributes.items():
            out.setdefault(str(key), value)
    return out


def _ordered(touches: Sequence[TouchFacts], now: datetime) -> list[TouchFacts]:
    """Touches that happened by ``now``, by (time, id): the order rules apply in."""
    # Touches read from the hub are UTC already: copying each one cost a run a fifth of its time.
    dated = [t if t.occurred_at.tzinfo is UTC else replace(t, occurred_at=_utc(t.occurred_at))
             for t in touches if t.occurred_at is not None]
    return sorted((t for t in dated if t.occurred_at is not None and t.occurred_at <= now),
                  key=lambda t: (t.occurred_at, t.id))


@dataclass
class _Awards:
    """What the rules gave a person, before decay: the part that does not depend on ``now``."""

    fixed: dict[str, float]
    demographic: list[Contribution]
    behavioral: dict[str, list[Contribution]]
    #: When the person's touches (of any kind) happened, by ``now``, in order.
    touch_times: tuple[datetime, ...]
    problems: list[str]


def _demographic(rules: Scoring, person: Mapping[str, Any], account: Mapping[str, Any] | None,
                 awards: _Awards) -> None:
    variables = {**(_flat(person) or {}), "account": _flat(account)}
    for rule in rules.demographic:
        try:
            holds = bool(rule.when(variables))
        except ExpressionError as exc:
            awards.problems.append(f"demographic {rule.name!r}: {exc}")
            continue
        if holds:
            points = rule.points.value(rules.tokens)
            awards.fixed[rule.score] += points
            awards.demographic.append(Contribution(rule.name, "demographic", rule.score,
                                                   points, points))


def _fires(rule: BehavioralRule, values: Mapping[str, Any], awards: _Awards) -> bool:
    if rule.touch is not None and not rule.touch.matches(values):
        return False
    if rule.when is None:
        return True
    try:
        return bool(rule.when(values))
    except ExpressionError as exc:
        awards.problems.append(f"behavioral {rule.name!r} on touch {values['id']}: {exc}")
        return False


def _behavioral(rules: Scoring, touches: list[TouchFacts], awards: _Awards) -> None:
    per_day: dict[tuple[str, object], float] = {}
    total: dict[str, float] = {}
    for touch in touches:
        values = touch.values()
        tokens = rules.tokens_for(touch.channel, touch.campaign)
        for rule in rules.behavioral:
            if not _fires(rule, values, awards):
                continue
            asked = rule.points.value(tokens)
            given, capped = asked, None
            assert touch.occurred_at is not None
            day = (rule.name, touch.occurred_at.date())
            if rule.cap is not None:
                for name, limit, used in (("per_day", rule.cap.per_day, per_day.get(day, 0.0)),
                                          ("total", rule.cap.total, total.get(rule.name, 0.0))):
                    if limit is not None and abs(given) > limit - used:
                        given, capped = max(0.0, limit - used) * (1 if asked >= 0 else -1), name
            per_day[day] = per_day.get(day, 0.0) + abs(given)
            total[rule.name] = total.get(rule.name, 0.0) + abs(given)
            earlier = awards.behavioral[rule.score]
            if rule.points.reset:
                cancel = f"{rule.name} at touch {touch.id}"
                earlier[:] = [c if c.reset_by else replace(c, reset_by=cancel, after=0.0,
                                                           reset_at=touch.occurred_at)
                              for c in earlier]
            earlier.append(Contribution(
                rule.name, "behavioral", rule.score, given, given, touch.id, touch.occurred_at,
                requested=asked if capped else None, capped_by=capped, reset=rule.points.reset,
            ))


def _awards(rules: Scoring, person: Mapping[str, Any], account: Mapping[str, Any] | None,
            touches: Sequence[TouchFacts], now: datetime) -> _Awards:
    ordered = _ordered(touches, now)
    awards = _Awards({s: 0.0 for s in rules.fed}, [], {s: [] for s in rules.fed},
                     tuple(t.occurred_at for t in ordered if t.occurred_at is not None), [])
    _demographic(rules, person, account, awards)
    _behavioral(rules, ordered, awards)
    return awards


def score_person(
    rules: Scoring,
    person: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    touches: Sequence[TouchFacts],
    now: datetime,
) -> PersonScores:
    """Every score field of ``rules`` for one person at ``now``, with its contributions.

    Touches after ``now`` or without a time are left out. Rule-fed scores are the half-up
    rounded sum of demographic points and decayed behavioural points; formula scores are
    then computed from those whole numbers.
    """
    now = _utc(now)
    awards = _awards(rules, person, account, touches, now)
    values: dict[str, int | None] = {}
    contributions = list(awards.demographic)
    for score in rules.fed:
        decayed = decays.apply(rules.decay.get(score), awards.behavioral[score],
                               awards.touch_times, now)
        contributions.extend(decayed)
        values[score] = round_half_up(awards.fixed[score]
                                      + sum(c.after for c in decayed))
    problems = list(awards.problems)
    for score, formula in rules.formulas.items():
        try:
            result = formula({s: values[s] for s in rules.fed})
        except ExpressionError as exc:
            problems.append(f"score {score!r}: {exc}")
            result = None
        ok = isinstance(result, int | float) and not isinstance(result, bool)
        values[score] = round_half_up(result) if ok else None
    order = {name: i for i, name in enumerate(rules.fed)}
    # Stable: demographic ones stay in file order, behavioural ones in touch order.
    contributions.sort(key=lambda c: (order[c.score], c.kind != "demographic"))
    return PersonScores(values, tuple(contributions), tuple(problems))


def next_decay_at(
    rules: Scoring,
    person: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    touches: Sequence[TouchFacts],
    now: datetime,
) -> datetime | None:
    """When a rule-fed score of this person next changes (rounded) by decay alone, or None.

    A scheduled job can skip the person until then; formula scores can only change when one
    of the scores they read does. New touches or field changes call for scoring again anyway.
    """
    return next_decay_of(rules, score_person(rules, person, account, touches, now), touches, now)


def next_decay_of(
    rules: Scoring, scores: PersonScores, touches: Sequence[TouchFacts], now: datetime
) -> datetime | None:
    """:func:`next_decay_at` from the person's ``scores`` at ``now`` (no rule evaluated again).

    What a run that has just scored the person calls: the breakdown holds what decay works
    on (demographic points stay, behavioural points decay from what was awarded).
    """
    now = _utc(now)
    times = tuple(sorted(at for at in (_utc(t.occurred_at) for t in touches
                                       if t.occurred_at is not None) if at <= now))
    found: list[datetime] = []
    for score in rules.fed:
        decay = rules.decay.get(score)
        if decay is None:
            continue
        mine = [c for c in scores.contributions if c.score == score]
        fixed = sum(c.points for c in mine if c.kind == "demographic")
        behavioral = [c for c in mine if c.kind == "behavioral"]
        at = decays.next_change(decay, fixed, behavioral, times, now)
        if at is not None:
            found.append(at)
    return min(found, default=None)


def score_account(
    rules: Scoring,
    account: Mapping[str, Any],
    people_touches: Mapping[str, Sequence[TouchFacts]],
    now: datetime,
) -> AccountScore:
    """The account score fields at ``now``: firmographic rules and engagement breadth.

    ``people_touches`` maps each person of the account (by id) to their touches. A breadth
    rule counts the people with a touch (matching its ``touch:``, if any) in the last
    ``touched_within_days`` days up to ``now``.
    """
    now = _utc(now)
    fields = _flat(account) or {}
    values = {score: 0.0 for score in rules.account_fields}
    contributions: list[Contribution] = []
    problems: list[str] = []
    for rule in rules.account:
        if rule.when is not None:
            try:
                if not rule.when(fields):
                    continue
            except ExpressionError as exc:
                problems.append(f"account {rule.name!r}: {exc}")
                continue
        people: tuple[str, ...] = ()
        if rule.min_people is not None:
            assert rule.touched_within_days is not None
            since = now - timedelta(days=rule.touched_within_days)
            people = tuple(sorted(
                person for person, touches in people_touches.items()
                if any(since <= t.occurred_at <= now
                       and (rule.touch is None or rule.touch.matches(t.values()))
                       for t in _ordered(touches, now))
            ))
            if len(people) < rule.min_people:
                continue
        points = rule.points.value(rules.tokens)
        values[rule.score] += points
        contributions.append(Contribution(rule.name, "account", rule.score, points, points,
                                          people=people))
    return AccountScore({s: round_half_up(v) for s, v in values.items()},
                        tuple(contributions), tuple(problems))
