"""Recording a touch: the one function every source calls (imports, campaign members...).

Web forms and webinars come through here too, from their mappings' ``activity`` blocks.

A touch is identified by its natural key: person, time to the second (UTC), touch type and
campaign. Recording the same touch again updates the fields that differ and otherwise writes
nothing, so a file imported twice or a response seen again adds no row and no change sequence.
Writes go through the ORM session: the flush gives each written touch a new ``change_seq``
(core.sequence), which is how attribution finds what to recompute. Removing is a soft delete,
so the change feed carries it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from core.clock import as_utc, utcnow
from core.models import Touch
from touches.types import TOUCH_TYPES
from touches.utm import NO_ALIASES, UTM_FIELDS, UtmAliases, clean, normalise

#: Fields a caller may leave alone (``fields=``): the ones besides the natural key's.
OPTIONAL_FIELDS = ("channel", *UTM_FIELDS, "detail", "origin", "member_id")


class Outcome(StrEnum):
    """What recording one touch did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class TouchRefusedError(ValueError):
    """A touch the hub cannot take: ``problems`` maps each field to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class TouchInput:
    """One interaction as a source reports it, before normalisation."""

    person_id: str
    occurred_at: datetime
    touch_type: str
    origin: str
    campaign_id: str | None = None
    channel: str | None = None
    source: str | None = None
    medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    landing_page: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    member_id: str | None = None


def to_second(value: datetime) -> datetime:
    """A time as the natural key sees it: UTC, whole seconds (a naive time is taken as UTC)."""
    return as_utc(value).astimezone(UTC).replace(microsecond=0)


def natural_key(
    person_id: str, occurred_at: datetime, touch_type: str, campaign_id: str | None
) -> str:
    """The touch's identity: a hash of person, time to the second (UTC), type and campaign."""
    stamp = to_second(occurred_at).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = "\x1f".join((person_id, stamp, touch_type, campaign_id or ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _limit(name: str) -> int | None:
    column = Touch.__table__.columns[name]  # type: ignore[attr-defined]
    return getattr(column.type, "length", None)


def normalised(touch: TouchInput, aliases: UtmAliases = NO_ALIASES) -> dict[str, Any]:
    """The touch's column values as stored, or TouchRefusedError naming every bad field."""
    problems: dict[str, str] = {}
    kind = clean(touch.touch_type)
    kind = kind.lower() if kind else None
    if kind not in TOUCH_TYPES:
        problems["touch_type"] = (
            f"{touch.touch_type!r} is not a touch type (allowed: {', '.join(TOUCH_TYPES)})"
        )
    if not isinstance(touch.occurred_at, datetime):
        problems["occurred_at"] = "a date and time is required"
    if not isinstance(touch.detail, dict):
        problems["detail"] = "expected a JSON object"
    values: dict[str, Any] = {
        "person_id": touch.person_id,
        "campaign_id": touch.campaign_id,
        "touch_type": kind,
        "channel": clean(touch.channel),
        **{name: normalise(name, getattr(touch, name), aliases) for name in UTM_FIELDS},
        "detail": dict(touch.detail) if isinstance(touch.detail, dict) else {},
        "origin": touch.origin,
        "member_id": touch.member_id,
    }
    for name in ("channel", *UTM_FIELDS):
        limit = _limit(name)
        value = values[name]
        if value is not None and limit is not None and len(value) > limit:
            problems[name] = f"{len(value)} characters, more than the {limit} the hub holds"
    if problems:
        raise TouchRefusedError(problems)
    values["occurred_at"] = to_second(touch.occurred_at)
    values["natural_key"] = natural_key(
        touch.person_id, touch.occurred_at, str(kind), touch.campaign_id
    )
    return values


def find_by_key(session: Session, key: str) -> Touch | None:
    """The touch with this natural key, removed or not."""
    return session.exec(select(Touch).where(col(Touch.natural_key) == key)).first()


def touches_by_key(session: Session, keys: Iterable[str], batch: int = 500) -> dict[str, Touch]:
    """The touches holding any of these natural keys, removed or not, by key (few queries)."""
    wanted = sorted(set(keys))
    found: dict[str, Touch] = {}
    for start in range(0, len(wanted), batch):
        query = select(Touch).where(col(Touch.natural_key).in_(wanted[start : start + batch]))
        found.update((touch.natural_key or "", touch) for touch in session.exec(query))
    return found


def record_touch(
    session: Session,
    touch: TouchInput,
    *,
    aliases: UtmAliases = NO_ALIASES,
    fields: Collection[str] | None = None,
    replaces: Touch | None = None,
    known: Mapping[str, Touch] | None = None,
) -> tuple[Outcome, Touch]:
    """Create the touch, or update the one with its natural key; the caller commits.

    ``fields`` limits which of :data:`OPTIONAL_FIELDS` an update writes (None: all, blanks
    included; a new touch takes them all): a campaign member's touch leaves the UTM values
    someone imported alone.
    ``replaces`` is the touch this one supersedes (a member's touch whose time or type moved):
    it takes the new key, or is removed when another touch holds that key already.
    A removed touch recorded again comes back. ``known``: the touches by natural key the
    caller loaded for a batch (touches_by_key); a key it lacks has no touch. Raises
    TouchRefusedError for a bad touch.
    """
    created = normalised(touch, aliases)
    values = created
    if fields is not None:
        values = {k: v for k, v in created.items() if k not in OPTIONAL_FIELDS or k in fields}
    key = values["natural_key"]
    existing = known.get(key) if known is not None else find_by_key(session, key)
    if existing is None and replaces is not None:
        existing = replaces
    elif replaces is not None and replaces is not existing:
        remove_touch(session, replaces)
    if existing is None:
        # A new touch takes every value given; ``fields`` only guards what others set since.
        made = Touch(**created)
        session.add(made)
        return Outcome.CREATED, made
    changed = False
    for name, value in values.items():
        if not _same(getattr(existing, name), value):
            setattr(existing, name, value)
            changed = True
    if existing.deleted_at is not None:
        existing.deleted_at = None
        changed = True
    if not changed:
        return Outcome.UNCHANGED, existing
    session.add(existing)
    return Outcome.UPDATED, existing


def _same(stored: Any, value: Any) -> bool:
    if isinstance(stored, datetime) and isinstance(value, datetime):
        return as_utc(stored) == as_utc(value)
    if stored is None and value == {}:
        return True  # an absent detail and an empty one say the same
    return bool(stored == value)


def remove_touch(session: Session, touch: Touch) -> bool:
    """Soft-delete a touch (its membership went away); False when it was removed already."""
    if touch.deleted_at is not None:
        return False
    touch.deleted_at = utcnow()
    session.add(touch)
    return True
