"""Where the hub steps keep their cursors: a JSON object in a ``sync_state`` row of their own.

Member touches, scoring and the lifecycle each follow the change sequence from where they
stopped. Their keys (``touches:campaign-members``, ``scoring:people``...) are no mapping's name
(mapping names are kebab-case), so they never collide with a mapping's cursor.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from core.clock import utcnow
from core.models import SyncState

#: The ``direction`` of every hub step's row.
HUB = "hub"


def read_cursor(db: Session, name: str) -> dict[str, Any]:
    """The step's cursor as stored (empty before its first run)."""
    state = db.get(SyncState, (name, HUB))
    if state is None or not state.cursor:
        return {}
    data = json.loads(state.cursor)
    return data if isinstance(data, dict) else {}


def write_cursor(db: Session, name: str, cursor: dict[str, Any]) -> None:
    """Store the step's cursor in the caller's transaction."""
    state = db.get(SyncState, (name, HUB)) or SyncState(mapping=name, direction=HUB)
    state.cursor = json.dumps(cursor)
    state.updated_at = utcnow()
    db.add(state)


def forget_cursor(db: Session, name: str) -> None:
    """Drop the step's cursor: its next run starts over."""
    state = db.get(SyncState, (name, HUB))
    if state is not None:
        db.delete(state)
