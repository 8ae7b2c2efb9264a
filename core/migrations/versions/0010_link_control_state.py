"""A link's control state gets its own columns: ``pending`` (a write in flight) and ``held``
(manual conflicts waiting for an edit), moved out of the snapshot's ``$pending`` and
``$conflict:<field>`` keys so the snapshot holds remote values only.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"  # there is no 0009: the number was given up
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "$pending"
HELD = "$conflict:"

link = sa.table(
    "link",
    sa.column("id", sa.Integer),
    sa.column("snapshot", sa.JSON),
    sa.column("pending", sa.JSON),
    sa.column("held", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("link") as batch:
        batch.add_column(sa.Column("pending", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("held", sa.JSON(), nullable=True))
    bind = op.get_bind()
    # Only links carrying a control key need rewriting; the text match keeps the scan cheap.
    rows = bind.execute(
        sa.select(link.c.id, link.c.snapshot).where(
            sa.cast(link.c.snapshot, sa.Text).like('%"$%')
        )
    ).all()
    for row_id, raw in rows:
        snapshot = _loaded(raw)
        values = {k: v for k, v in snapshot.items() if k != PENDING and not k.startswith(HELD)}
        pending = snapshot.get(PENDING)
        held = {k[len(HELD):]: v for k, v in snapshot.items() if k.startswith(HELD)}
        bind.execute(
            link.update()
            .where(link.c.id == row_id)
            .values(snapshot=values, pending=pending if isinstance(pending, dict) else None,
                    held=held)
        )
    bind.execute(link.update().where(link.c.held.is_(None)).values(held={}))
    with op.batch_alter_table("link") as batch:
        batch.alter_column("held", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(link.c.id, link.c.snapshot, link.c.pending, link.c.held)
    ).all()
    for row_id, raw, pending, held in rows:
        snapshot = _loaded(raw)
        snapshot.update({HELD + k: v for k, v in _loaded(held).items()})
        if pending:
            snapshot[PENDING] = _loaded(pending)
        bind.execute(link.update().where(link.c.id == row_id).values(snapshot=snapshot))
    with op.batch_alter_table("link") as batch:
        batch.drop_column("held")
        batch.drop_column("pending")


def _loaded(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
