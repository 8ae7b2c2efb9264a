"""Why a person has the scores, stage and AQL they have: one explanation for the CLI and the page.

``syncline score explain`` prints it and the person's dashboard page shows it as panels, from
the same :class:`Explanation`: scores computed now beside the stored ones, every contribution
line (points, decay, when, cap, reset), the stage history from ``lifecycle_history`` with the
rule and reason of each move, when each stage was first entered, and each AQL part with
whether it passed and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core.errors import InputError
from core.hubschema import HubSchema
from core.models import Account, LifecycleHistory, Person
from lifecycle.engine import Facts, qualify
from lifecycle.loader import lifecycle_path, load_lifecycle
from lifecycle.spec import Lifecycle
from scoring.points import Contribution
from scoring.run import person_scores
from scoring.spec import Scoring

#: Stage changes listed; a person moved more often than this is a story for the database.
HISTORY_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Line:
    """One contribution as shown: points awarded, what they count now, and what changed them."""

    rule: str
    kind: str
    score: str
    points: float
    now: float
    decayed: float
    at: datetime | None
    touch: str | None
    capped_by: str | None
    requested: float | None
    reset: bool
    reset_by: str | None

    @classmethod
    def of(cls, contribution: Contribution) -> Line:
        """The line of one engine contribution (``now``/``decayed`` to two decimals)."""
        c = contribution
        return cls(c.rule, c.kind, c.score, c.points, round(c.after, 2), round(c.decayed, 2),
                   c.at, c.touch_id, c.capped_by, c.requested, c.reset, c.reset_by)

    @property
    def sign(self) -> str:
        """``=`` for a reset, ``+`` for a gain; a penalty carries its own minus."""
        return "=" if self.reset else ("+" if self.points >= 0 else "")

    @property
    def notes(self) -> list[str]:
        """What changed the points: decay, a cap, a later reset."""
        notes = []
        if self.decayed:
            notes.append(f"decay -{self.decayed:g}")
        if self.capped_by:
            asked = f", asked {self.requested:g}" if self.requested is not None else ""
            notes.append(f"capped ({self.capped_by}{asked})")
        if self.reset_by:
            notes.append(f"cancelled by {self.reset_by}")
        return notes

    def text(self) -> str:
        """The CLI's line: ``behavior_score  +15 → 7.5  Filled in a form (behavioral) at …``."""
        when = f" at {self.at.isoformat()[:19].replace('T', ' ')}" if self.at else ""
        tail = f" [{', '.join(self.notes)}]" if self.notes else ""
        return (f"{self.score:<16} {self.sign}{self.points:g} → {self.now:g}  "
                f"{self.rule} ({self.kind}){when}{tail}")

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` keys of a contribution."""
        out = asdict(self)
        out["at"] = self.at.isoformat() if self.at else None
        return out


@dataclass(frozen=True, slots=True)
class ScoreValue:
    """One score field: computed now, as stored, and the lines that make it."""

    name: str
    value: int | None
    stored: Any
    lines: tuple[Line, ...]
    #: A combined score's formula (``fit_score + behavior_score``); None for a rule-fed one.
    formula: str | None = None

    @property
    def stale(self) -> bool:
        """The stored value is not what the rules give now (a run is due)."""
        return self.stored != self.value


@dataclass(frozen=True, slots=True)
class Move:
    """One stage change from ``lifecycle_history``."""

    from_stage: str | None
    to_stage: str
    at: datetime
    rule: str
    reason: str

    def text(self) -> str:
        """``Known → MQL  2026-03-01 12:00:00  transitions[2]: score >= 60 … holds``."""
        when = self.at.isoformat()[:19].replace("T", " ")
        return (f"{self.from_stage or '(none)'} → {self.to_stage}  {when}  "
                f"{self.rule or '(no rule)'}: {self.reason or '—'}")

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` keys of a move."""
        return {"from": self.from_stage, "to": self.to_stage, "at": self.at.isoformat(),
                "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class AqlLine:
    """One part of the AQL rule on this person."""

    name: str
    passed: bool
    detail: str


@dataclass
class Explanation:
    """Everything a person's scores, stage and AQL come from."""

    person_id: str
    email: str | None
    #: None: no scoring file (or it does not load: see ``problems``).
    scores: list[ScoreValue] | None = None
    stage: str | None = None
    stage_entered_at: dict[str, str] = field(default_factory=dict)
    history: list[Move] = field(default_factory=list)
    more_history: bool = False
    #: None: no AQL rule (no lifecycle file, or one without ``aql``).
    aql_parts: list[AqlLine] | None = None
    aql: bool = False
    aql_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def aql_passes_now(self) -> bool | None:
        """Whether every AQL part passes on the stored values (None: no rule)."""
        return None if self.aql_parts is None else all(p.passed for p in self.aql_parts)

    def as_json(self) -> dict[str, Any]:
        """The ``syncline score explain --json`` object."""
        scores = self.scores or []
        return {
            "person": self.person_id, "email": self.email,
            "scores": {s.name: s.value for s in scores},
            "formulas": {s.name: s.formula for s in scores if s.formula},
            "stored": {s.name: s.stored for s in scores},
            "contributions": [line.as_json() for s in scores for line in s.lines],
            "stage": self.stage, "stage_entered_at": self.stage_entered_at,
            "history": [m.as_json() for m in self.history],
            "aql": self.aql, "aql_at": self.aql_at.isoformat() if self.aql_at else None,
            "aql_parts": ([{"name": p.name, "passed": p.passed, "detail": p.detail}
                           for p in self.aql_parts] if self.aql_parts is not None else None),
            "problems": list(self.problems),
        }

    def text_lines(self) -> list[str]:
        """The plain-text report, one line per item, as ``score explain`` prints it."""
        out = [f"person {self.person_id} {self.email or ''}".rstrip()]
        for score in self.scores or []:
            note = (f" (stored {score.stored}: run `syncline score run`)" if score.stale else "")
            made = f"  [{score.formula}]" if score.formula else ""
            out.append(f"  {score.name} = {score.value}{made}{note}")
        out.extend(f"  {line.text()}" for score in self.scores or [] for line in score.lines)
        out.append(f"stage {self.stage or '(none)'}")
        for name, when in self.stage_entered_at.items():
            out.append(f"  entered {name} {str(when)[:19].replace('T', ' ')}")
        out.append("stage history" + ("" if self.history else ": no stage change recorded"))
        out.extend(f"  {move.text()}" for move in self.history)
        if self.more_history:
            out.append(f"  (the latest {len(self.history)} changes only)")
        since = f" since {self.aql_at.isoformat()[:19].replace('T', ' ')}" if self.aql_at else ""
        out.append(f"aql {'yes' if self.aql else 'no'}{since}")
        for part in self.aql_parts or []:
            out.append(f"  {'pass' if part.passed else 'FAIL'}  {part.name}: {part.detail}")
        return out


def lifecycle_rules(mappings_dir: str | Path) -> tuple[Lifecycle | None, list[str]]:
    """The lifecycle file of a mappings folder (None when absent), or its problems."""
    try:
        return load_lifecycle(lifecycle_path(mappings_dir)), []
    except InputError as exc:
        return None, str(exc).splitlines()


def explain_person(
    session: Session, person: Person, schema: HubSchema, rules: Scoring | None,
    lifecycle: Lifecycle | None, now: datetime,
) -> Explanation:
    """A person's scores (computed now and stored), stage history and AQL parts."""
    found = Explanation(person.id, person.email, stage=person.lifecycle_stage,
                        stage_entered_at=dict(person.stage_entered_at or {}),
                        aql=bool(person.aql), aql_at=person.aql_at)
    if rules is not None:
        scored = person_scores(session, rules, schema, person, now)
        lines = [Line.of(c) for c in scored.contributions]
        found.scores = [
            ScoreValue(name, value, schema.get(person, name),
                       tuple(line for line in lines if line.score == name),
                       rules.formulas[name].source if name in rules.formulas else None)
            for name, value in scored.values.items()
        ]
        found.problems.extend(scored.problems)
    found.history, found.more_history = _history(session, person.id)
    if lifecycle is not None and lifecycle.aql is not None:
        account = session.get(Account, person.account_id) if person.account_id else None
        # As the lifecycle run checks it: the stored fields, the account's stored score.
        result = qualify(lifecycle.aql, Facts(
            fields=schema.values(person),
            account=schema.values(account) if account is not None else {}))
        found.aql_parts = [AqlLine(p.name, p.passed, p.detail) for p in result.parts]
    return found


def _history(session: Session, person_id: str) -> tuple[list[Move], bool]:
    """The person's stage changes, oldest first (the latest ``HISTORY_SHOWN``)."""
    rows: Sequence[LifecycleHistory] = session.exec(
        select(LifecycleHistory).where(LifecycleHistory.person_id == person_id)
        .order_by(col(LifecycleHistory.at).desc(), col(LifecycleHistory.id).desc())
        .limit(HISTORY_SHOWN + 1)).all()
    moves = [Move(r.from_stage, r.to_stage, r.at, r.rule, r.reason)
             for r in reversed(rows[:HISTORY_SHOWN])]
    return moves, len(rows) > HISTORY_SHOWN
