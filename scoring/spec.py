"""The scoring file's shape: pydantic models for what admins write, dataclasses for what loads.

The file format and its semantics are described in ``scoring/DESIGN.md``; the loader
(:mod:`scoring.loader`) checks one against the other and builds :class:`Scoring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.yamlsource import KeyPath
from mappings.expressions import Expression

#: The scoring file's name in the mappings folder (mappings.loader reserves it).
SCORING_FILE = "scoring.yaml"

#: Points as written: a number, ``"@token"`` (a token's value) or ``"=N"`` / ``"=@token"``
#: (set the score to that value at this touch).
Points = int | float | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreSpec(_Strict):
    """One score field: fed by rules, or combined from others by ``formula``."""

    formula: str | None = Field(default=None, description="e.g. fit_score + behavior_score")
    label: str | None = None


class OverrideSpec(_Strict):
    """Token values for touches of one channel or one campaign (a cloned program's tokens)."""

    channel: str | None = None
    campaign: str | None = None
    tokens: dict[str, int | float] = Field(min_length=1)


class CapSpec(_Strict):
    """Most points one behavioural rule may give a person, per UTC day and in all."""

    per_day: float | None = Field(default=None, gt=0)
    total: float | None = Field(default=None, gt=0)


class DemographicSpec(_Strict):
    """A demographic (fit) rule: points while a condition on the person holds."""

    name: str = Field(min_length=1)
    score: str = Field(description="the score field it feeds, e.g. score: fit_score")
    when: str = Field(description='a condition, e.g. when: "country == \'FR\'"')
    points: Points = Field(description="a number or \"@token\"")
    cap: Any = None  # refused with a plain message by the loader: caps are behavioural


class BehavioralSpec(_Strict):
    """A behavioural rule: points for each touch that matches."""

    name: str = Field(min_length=1)
    score: str = Field(description="the score field it feeds, e.g. score: behavior_score")
    touch: dict[str, Any] | None = None
    when: str | None = None
    points: Points = Field(description="a number, \"@token\" or \"=N\"")
    cap: CapSpec | None = None


class DecaySpec(_Strict):
    """How a score's behavioural points fade: by half-life, or minus N every D days."""

    score: str
    half_life_days: float | None = Field(default=None, gt=0)
    minus: float | None = Field(default=None, gt=0)
    every_days: float | None = Field(default=None, gt=0)
    without_touch: bool = False


class AccountRuleSpec(_Strict):
    """An account rule: a firmographic condition, engagement breadth, or both."""

    name: str = Field(min_length=1)
    score: str = "account_score"
    when: str | None = None
    min_people: int | None = Field(default=None, ge=1)
    touched_within_days: float | None = Field(default=None, gt=0)
    touch: dict[str, Any] | None = None
    points: Points = Field(description="a number or \"@token\"")


class ScoringSpec(_Strict):
    """The whole file."""

    scores: dict[str, ScoreSpec | None] = Field(min_length=1)
    tokens: dict[str, int | float] = Field(default_factory=dict)
    overrides: list[OverrideSpec] = Field(default_factory=list)
    demographic: list[DemographicSpec] = Field(default_factory=list)
    behavioral: list[BehavioralSpec] = Field(default_factory=list)
    decay: list[DecaySpec] = Field(default_factory=list)
    account: list[AccountRuleSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PointsValue:
    """Points as loaded: a fixed number or a token (looked up per touch), adding or setting."""

    number: float | None = None
    token: str | None = None
    reset: bool = False  # "=N": set the score to the value instead of adding it

    def value(self, tokens: Mapping[str, float]) -> float:
        """The points with these token values."""
        return float(tokens[self.token]) if self.token is not None else float(self.number or 0)

    def __str__(self) -> str:
        text = f"@{self.token}" if self.token is not None else f"{self.number:g}"
        return f"={text}" if self.reset else text


@dataclass(frozen=True, slots=True)
class TouchMatch:
    """What a touch must be: per field, the allowed values (strings compared without case)."""

    fields: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Tell whether a touch's fields (``detail.<key>`` included) satisfy every condition."""
        for name, allowed in self.fields.items():
            value = values.get(name)
            if not any(_same(value, want) for want in allowed):
                return False
        return True


def _same(value: Any, want: Any) -> bool:
    if isinstance(value, str) and isinstance(want, str):
        return value.strip().casefold() == want.strip().casefold()
    if isinstance(want, bool) or isinstance(value, bool):
        return value is want
    return value == want


@dataclass(frozen=True, slots=True)
class DemographicRule:
    """A loaded demographic rule."""

    name: str
    score: str
    when: Expression
    points: PointsValue


@dataclass(frozen=True, slots=True)
class Cap:
    """A loaded cap (points, in magnitude)."""

    per_day: float | None = None
    total: float | None = None


@dataclass(frozen=True, slots=True)
class BehavioralRule:
    """A loaded behavioural rule: it fires on touches matching ``touch`` and ``when``."""

    name: str
    score: str
    points: PointsValue
    touch: TouchMatch | None = None
    when: Expression | None = None
    cap: Cap | None = None


@dataclass(frozen=True, slots=True)
class Decay:
    """A loaded decay of one score."""

    score: str
    half_life_days: float | None = None
    minus: float | None = None
    every_days: float | None = None
    without_touch: bool = False


@dataclass(frozen=True, slots=True)
class Override:
    """Tokens that apply to touches of a channel or of a campaign (by name)."""

    tokens: Mapping[str, float]
    channel: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRule:
    """A loaded account rule: ``when`` on the account and/or engagement breadth."""

    name: str
    score: str
    points: PointsValue
    when: Expression | None = None
    min_people: int | None = None
    touched_within_days: float | None = None
    touch: TouchMatch | None = None


@dataclass(frozen=True)
class Scoring:
    """The scoring file, loaded and checked."""

    #: Rule-fed person score fields, in file order.
    fed: tuple[str, ...] = ()
    #: Person score fields combined from others: name → formula.
    formulas: Mapping[str, Expression] = field(default_factory=dict)
    tokens: Mapping[str, float] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()
    demographic: tuple[DemographicRule, ...] = ()
    behavioral: tuple[BehavioralRule, ...] = ()
    decay: Mapping[str, Decay] = field(default_factory=dict)
    account: tuple[AccountRule, ...] = ()
    #: Account score fields the account rules feed, in file order.
    account_fields: tuple[str, ...] = ()
    #: A hash of what the file says: every score is recomputed when it changes.
    fingerprint: str = ""
    source: str = SCORING_FILE
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def tokens_for(self, channel: str | None, campaign: str | None) -> Mapping[str, float]:
        """Token values for a touch: the file's, then its channel's, then its campaign's.

        The most specific override wins (campaign names and channels compared without case).
        """
        merged = dict(self.tokens)
        for kind, value in (("channel", channel), ("campaign", campaign)):
            if not value:
                continue
            wanted = value.strip().casefold()
            for override in self.overrides:
                target = getattr(override, kind)
                if target is not None and target.strip().casefold() == wanted:
                    merged.update(override.tokens)
        return merged
