"""The lifecycle file's shape (pydantic, as written) and its loaded form (plain dataclasses).

See ``lifecycle/DESIGN.md`` for the format and its meaning; :mod:`lifecycle.loader` reads the
file and checks what pydantic cannot (stage names, direction, regexes) with ``file:line`` errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.yamlsource import KeyPath
from mappings.expressions import Expression

#: The lifecycle file's name in the mappings folder (mappings.loader reserves it).
LIFECYCLE_FILE = "lifecycle.yaml"

#: What an ``opportunity:`` trigger waits for.
OpportunityEvent = Literal["created", "won"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageSpec(_Strict):
    """A stage written as a mapping: ``{name: Recycled, detour: true}``."""

    name: str = Field(min_length=1, description="the stage's name, e.g. name: MQL")
    detour: bool = False
    #: Person fields written when someone enters the stage by a hub rule (not by the CRM's
    #: own status): an MQL's Lead Status, which the lead mappings send to the CRM.
    sets: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class TransitionSpec(_Strict):
    """One transition rule, as written: a target, optional sources and exactly one trigger."""

    to: str = Field(min_length=1, description="the stage it moves to, e.g. to: MQL")
    # ``from`` is a Python keyword: the field is ``sources``, the key stays ``from``.
    sources: list[str] | Literal["any"] | None = Field(default=None, alias="from")
    when: str | None = None
    crm: dict[str, list[str]] | None = None
    opportunity: OpportunityEvent | None = None
    idle_days: int | None = Field(default=None, ge=1)
    recycle: bool = False


class ScoreSpec(_Strict):
    """A score threshold of the AQL rule: ``{field: behavior_score, min: 30}``."""

    field: str = Field(min_length=1, description="the score field, e.g. field: behavior_score")
    min: float = Field(description="the lowest passing score, e.g. min: 30")


class AqlSpec(_Strict):
    """The AQL rule, as written: all four parts are required."""

    titles: list[str] = Field(
        min_length=1, description="titles or levels that qualify, e.g. titles: [VP, Director]"
    )
    complete: list[str | list[str]] = Field(
        min_length=1,
        description="fields that must not be blank, e.g. complete: [first_name, [phone, email]]",
    )
    behavior_score: ScoreSpec = Field(
        description="e.g. behavior_score: {field: behavior_score, min: 30}"
    )
    account_score: ScoreSpec = Field(
        description="e.g. account_score: {field: account_score, min: 50}"
    )


class LifecycleSpec(_Strict):
    """The whole file."""

    stages: list[str | StageSpec] = Field(
        min_length=1, description="the stages in funnel order, e.g. stages: [Known, MQL, SQL]"
    )
    transitions: list[TransitionSpec] = Field(default_factory=list)
    aql: AqlSpec | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage: its name, its place on the main path (None for a detour)."""

    name: str
    rank: int | None  # 0, 1, 2... along the main path; detours have none
    #: Person fields set on entering the stage by a rule that is not a ``crm:`` trigger.
    sets: Mapping[str, Any] = field(default_factory=dict)

    @property
    def detour(self) -> bool:
        """Whether the stage is off the main path (Recycled, Disqualified, Nurture)."""
        return self.rank is None


@dataclass(frozen=True, slots=True)
class Transition:
    """A loaded transition rule; ``label`` names it in reasons and history (``transitions[3]``)."""

    label: str
    to: str
    #: Stages it applies from; None: any main-path stage (or none yet); ``"any"``: every stage.
    sources: frozenset[str] | Literal["any"] | None
    recycle: bool = False
    when: Expression | None = None
    crm: Mapping[str, frozenset[str]] | None = None  # field → values (casefolded)
    opportunity: str | None = None
    idle_days: int | None = None


@dataclass(frozen=True, slots=True)
class TitleMatcher:
    """One entry of ``aql.titles``: a substring, or a ``/regex/``; both ignore case."""

    text: str
    pattern: re.Pattern[str]

    def matches(self, title: str) -> bool:
        """Whether ``title`` contains this entry (or the regex finds a match in it)."""
        return self.pattern.search(title) is not None


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """A score field and its threshold."""

    field: str
    min: float


@dataclass(frozen=True, slots=True)
class AqlRule:
    """The loaded AQL rule; ``complete`` groups hold fields of which one must be non-blank."""

    titles: tuple[TitleMatcher, ...]
    complete: tuple[tuple[str, ...], ...]
    behavior_score: ScoreRule
    account_score: ScoreRule
    title_field: str = "title"


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle file, loaded: stages in order, transition rules in file order, the AQL rule."""

    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...] = ()
    aql: AqlRule | None = None
    source: str = LIFECYCLE_FILE
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def stage(self, name: str | None) -> Stage | None:
        """The stage called ``name`` (compared without case), or None."""
        if name is None:
            return None
        wanted = name.strip().casefold()
        return next((s for s in self.stages if s.name.casefold() == wanted), None)


def parse_title(text: str) -> TitleMatcher:
    """``/^c.o$/`` is a regex; anything else is matched literally as a substring."""
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        return TitleMatcher(text, re.compile(text[1:-1], re.IGNORECASE))
    return TitleMatcher(text, re.compile(re.escape(text.strip()), re.IGNORECASE))

