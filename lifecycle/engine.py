"""The pure lifecycle engine: which stage a person moves to, and whether it qualifies (AQL).

Nothing here reads the database or the clock: the caller gathers a person's :class:`Facts`
and passes ``now``, so the same facts always give the same answer. The order rules are tried
in is documented in ``lifecycle/DESIGN.md`` ("Which rule wins"), in short:

1. ``recycle: true`` rules, in file order: the first that fires and changes the stage wins
   (a sales decision or an idle timer outranks scoring);
2. otherwise the forward rules that fire: the nearest main-path stage ahead of the current
   one wins (file order breaks a tie): the engine never moves backwards without
   ``recycle: true``, and a caller that asks again after each move walks the person through
   every stage whose rule holds (Known, Engaged, then MQL), as a funnel counts them.

A rule applies from the stages its ``from`` lists; without ``from``, from any main-path stage
(or from no stage yet); ``from: any`` also from detours. A detour is left only by a rule that
names it in ``from`` (or says ``from: any``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.values import blank
from lifecycle.spec import AqlRule, Lifecycle, Stage, Transition
from mappings.expressions import ExpressionError


@dataclass(frozen=True)
class Facts:
    """What the engine knows of one person at ``now``; datetimes are aware UTC."""

    #: The person's hub fields (standard and custom, scores included): what ``when`` reads.
    fields: Mapping[str, Any] = field(default_factory=dict)
    #: Its account's fields (``account.x`` in expressions; AQL's account score).
    account: Mapping[str, Any] = field(default_factory=dict)
    #: The current stage (None: none yet); a name the file does not know counts as none.
    stage: str | None = None
    #: Stage → when the person first entered it.
    stage_entered_at: Mapping[str, datetime] = field(default_factory=dict)
    #: When the earliest opportunity it is a contact role of was created / won (None: never).
    opportunity_created_at: datetime | None = None
    opportunity_won_at: datetime | None = None
    last_touch_at: datetime | None = None
    #: When the person last entered its current stage (None: unknown, or no stage yet).
    stage_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """A stage change the rules call for: from where, to where, which rule and why."""

    from_stage: str | None
    to_stage: str
    rule: str  # the rule's place in the file, e.g. transitions[3]
    reason: str
    #: Moved by the CRM's own data (a ``crm:`` trigger): the stage's ``sets`` are not applied,
    #: since sales's value is the one that moved it.
    from_crm: bool = False


@dataclass(frozen=True, slots=True)
class AqlPart:
    """One part of the AQL rule: its name, whether it passed, and what was seen."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class AqlResult:
    """Whether a person qualifies automatically, part by part (all four must pass)."""

    passed: bool
    parts: tuple[AqlPart, ...]


def next_stage(lifecycle: Lifecycle, facts: Facts, now: datetime) -> Move | None:
    """The move the rules call for now, or None when the person stays where it is."""
    current = lifecycle.stage(facts.stage)
    variables = _variables(facts)
    for rule in lifecycle.transitions:
        if not rule.recycle or not _applies_from(rule, current):
            continue
        if current is not None and rule.to == current.name:
            continue
        reason = _fires(rule, facts, current, variables, now)
        if reason is not None:
            return Move(current.name if current else None, rule.to, rule.label, reason,
                        rule.crm is not None)
    best: tuple[int, Transition, str] | None = None
    for rule in lifecycle.transitions:
        if rule.recycle or not _applies_from(rule, current):
            continue
        target = lifecycle.stage(rule.to)
        if target is None or target.rank is None or not _ahead(target, current):
            continue  # forward only: never back, never sideways
        if best is not None and target.rank >= best[0]:
            continue  # only a nearer stage beats the best so far
        reason = _fires(rule, facts, current, variables, now)
        if reason is not None:
            best = (target.rank, rule, reason)
    if best is None:
        return None
    _, rule, reason = best
    return Move(current.name if current else None, rule.to, rule.label, reason,
                rule.crm is not None)


def qualify(rule: AqlRule, facts: Facts) -> AqlResult:
    """Check the four parts of the AQL rule against a person (and its account)."""
    title = str(facts.fields.get(rule.title_field) or "").strip()
    hit = next((m.text for m in rule.titles if title and m.matches(title)), None)
    parts = [AqlPart("titles", hit is not None,
                     f"title {title!r} matches {hit}" if hit is not None
                     else f"title {title!r} matches none of the qualifying titles" if title
                     else "no title")]
    missing = [" or ".join(group) for group in rule.complete
               if all(blank(facts.fields.get(name)) for name in group)]
    parts.append(AqlPart("complete", not missing,
                         f"blank: {', '.join(missing)}" if missing else "all filled"))
    parts.append(_score("behavior_score", rule.behavior_score.field, rule.behavior_score.min,
                        facts.fields.get(rule.behavior_score.field)))
    field_name = rule.account_score.field
    # The account's own score first; a scorer may also copy it onto the person.
    value = facts.account.get(field_name)
    if value is None:
        value = facts.fields.get(field_name)
    parts.append(_score("account_score", field_name, rule.account_score.min, value))
    return AqlResult(all(p.passed for p in parts), tuple(parts))


def _score(name: str, field_name: str, minimum: float, value: Any) -> AqlPart:
    number = _number(value)
    if number is None:
        return AqlPart(name, False, f"{field_name} has no value (needs at least {_n(minimum)})")
    passed = number >= minimum
    sign = ">=" if passed else "<"
    return AqlPart(name, passed, f"{field_name} {_n(number)} {sign} {_n(minimum)}")


def _n(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _variables(facts: Facts) -> dict[str, Any]:
    variables = dict(facts.fields)
    variables["account"] = dict(facts.account)
    variables["stage"] = facts.stage
    # A lead sales handed back qualifies again on new engagement only, not on the scores it
    # was handed back with (that would bounce it straight back to sales).
    variables["touched_since_stage"] = facts.last_touch_at is not None and (
        facts.stage_since is None or facts.last_touch_at > facts.stage_since)
    return variables


def _applies_from(rule: Transition, current: Stage | None) -> bool:
    if rule.sources == "any":
        return True
    if rule.sources is None:
        return current is None or not current.detour
    return current is not None and current.name in rule.sources


def _ahead(target: Stage, current: Stage | None) -> bool:
    """Whether a forward rule may move to ``target``: later on the path, or out of a detour."""
    if current is None or current.rank is None:
        return True
    return target.rank is not None and target.rank > current.rank


def _fires(
    rule: Transition, facts: Facts, current: Stage | None, variables: Mapping[str, Any],
    now: datetime,
) -> str | None:
    """Why the rule's trigger holds, or None when it does not."""
    if rule.when is not None:
        try:
            result = rule.when(variables)
        except ExpressionError:
            return None  # a value the expression cannot use: the rule does not fire
        return f"{rule.when.source} holds" if result else None
    if rule.crm is not None:
        for name, wanted in rule.crm.items():
            value = facts.fields.get(name)
            if value is None or str(value).strip().casefold() not in wanted:
                return None
        said = ", ".join(f"{name} is {facts.fields.get(name)!r}" for name in rule.crm)
        return f"CRM: {said}"
    if rule.opportunity == "created" and facts.opportunity_created_at is not None:
        return f"contact role on an opportunity created {facts.opportunity_created_at:%Y-%m-%d}"
    if rule.opportunity == "won" and facts.opportunity_won_at is not None:
        return f"contact role on an opportunity won {facts.opportunity_won_at:%Y-%m-%d}"
    if rule.idle_days is not None:
        # Idle since the last touch, or since entering the current stage if later: a person
        # who just arrived in a stage is not idle in it yet. No date at all: no verdict.
        entered = facts.stage_entered_at.get(current.name) if current else None
        since = max((d for d in (facts.last_touch_at, entered) if d is not None), default=None)
        if since is None or now - since < timedelta(days=rule.idle_days):
            return None
        what = "touch" if since == facts.last_touch_at else "stage change"
        return f"no touch for {(now - since).days} days (last {what} {since:%Y-%m-%d})"
    return None
