"""Export of hub touches, campaign members, campaigns and opportunities (people: core.people).

One record per line (JSON Lines), or CSV with a header, every live record with its hub ids;
touches and members also carry their person's email and their campaign's name, so a file
reads without a second lookup. CSV cells go through core.csvfile (spreadsheet formulas
neutralised), as every export does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Literal, TextIO

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import csvfile
from core.db import session
from core.errors import InputError
from core.models import Campaign, CampaignMember, Opportunity, Person, Touch

BATCH_SIZE = 500

_TOUCH_COLUMNS = (
    "id", "person_id", "email", "occurred_at", "touch_type", "campaign_id", "campaign",
    "channel", "source", "medium", "utm_campaign", "utm_content", "utm_term", "landing_page",
    "origin", "member_id", "detail",
)
_MEMBER_COLUMNS = (
    "id", "person_id", "email", "campaign_id", "campaign", "status", "responded",
    "first_responded_at",
)
_CAMPAIGN_COLUMNS = (
    "id", "name", "type", "channel", "status", "start_date", "end_date", "cost", "attributes",
)
_OPPORTUNITY_COLUMNS = (
    "id", "name", "amount", "stage", "close_date", "is_closed", "is_won", "account_id",
    "created_on",
)

Rows = Callable[[Session], Iterable[dict[str, Any]]]


def _touches(db: Session) -> Iterable[dict[str, Any]]:
    query = (
        select(Touch, Person.email, Campaign.name)
        .join(Person, col(Person.id) == col(Touch.person_id))
        .outerjoin(Campaign, col(Campaign.id) == col(Touch.campaign_id))
        .where(col(Touch.deleted_at).is_(None))
        .order_by(col(Touch.occurred_at), col(Touch.id))
        .execution_options(yield_per=BATCH_SIZE)
    )
    for touch, email, campaign in db.exec(query):
        yield {**_columns(touch, _TOUCH_COLUMNS), "email": email, "campaign": campaign}


def _members(db: Session) -> Iterable[dict[str, Any]]:
    query = (
        select(CampaignMember, Person.email, Campaign.name)
        .join(Person, col(Person.id) == col(CampaignMember.person_id))
        .join(Campaign, col(Campaign.id) == col(CampaignMember.campaign_id))
        .where(col(CampaignMember.deleted_at).is_(None))
        .order_by(col(Campaign.name), col(Person.email), col(CampaignMember.id))
        .execution_options(yield_per=BATCH_SIZE)
    )
    for member, email, campaign in db.exec(query):
        yield {**_columns(member, _MEMBER_COLUMNS), "email": email, "campaign": campaign}


def _plain_rows(model: Any, columns: tuple[str, ...], order: Any) -> Rows:
    def rows(db: Session) -> Iterable[dict[str, Any]]:
        query = (
            select(model)
            .where(col(model.deleted_at).is_(None))
            .order_by(order, col(model.id))
            .execution_options(yield_per=BATCH_SIZE)
        )
        for record in db.exec(query):
            yield _columns(record, columns)

    return rows


#: What ``syncline export OBJECT`` can write: object → (columns, rows).
EXPORTS: dict[str, tuple[tuple[str, ...], Rows]] = {
    "touches": (_TOUCH_COLUMNS, _touches),
    "members": (_MEMBER_COLUMNS, _members),
    "campaigns": (
        _CAMPAIGN_COLUMNS, _plain_rows(Campaign, _CAMPAIGN_COLUMNS, col(Campaign.name))
    ),
    "opportunities": (
        _OPPORTUNITY_COLUMNS,
        _plain_rows(Opportunity, _OPPORTUNITY_COLUMNS, col(Opportunity.name)),
    ),
}


def _columns(record: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(record, name, None) for name in columns}


def export_records(
    engine: Engine, what: str, out: TextIO, *, fmt: Literal["csv", "jsonl"] = "csv"
) -> int:
    """Write every live record of ``what`` (see EXPORTS) to ``out``; return how many."""
    if what not in EXPORTS:
        raise InputError("export", f"unknown object {what!r} ({', '.join(EXPORTS)})")
    if fmt not in ("csv", "jsonl"):
        raise InputError("format", f"unknown export format {fmt!r} (csv or jsonl)")
    columns, rows = EXPORTS[what]
    writer = csvfile.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(columns)
    count = 0
    with session(engine) as db:
        for row in rows(db):
            if writer is not None:
                writer.writerow([csvfile.cell(row[name]) for name in columns])
            else:
                record = {name: csvfile.plain(row[name]) for name in columns}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            if count % BATCH_SIZE == 0:
                db.expunge_all()  # streamed rows are not needed again
    return count
