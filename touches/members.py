"""Campaign members → touches: each membership that counts is exactly one touch, kept in step.

A member counts when a CRM says it responded (Salesforce ``HasResponded`` and
``FirstRespondedDate``, a Dynamics campaign response's received time: ``responded`` /
``first_responded_at``), or when its status is a ``success`` status of its campaign's channel
(programs.yaml), unless its status is a ``negative`` one: a declined invitation or a bounced
email is an answer, not engagement. Its touch happened at ``first_responded_at``, else when
the member reached the status (its ``updated_at`` then; kept afterwards). The touch follows
the member: a new status or response time updates it (still one touch), and a membership
deleted or no longer counting removes it (soft delete, so attribution hears of it).

The step reads campaign members changed since its cursor, by change sequence, a page per
transaction, then the members of campaigns whose channel or type may have changed. A changed
programs file starts it over from the first member. It runs in the hub only, after the pulls
(jobs.hub_steps), never inside a mapping's cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import sequence
from core.clock import utcnow
from core.db import session as db_session
from core.hub_cursor import forget_cursor, read_cursor, write_cursor
from core.models import Campaign, CampaignMember, Touch
from touches.programs import Channel, Programs, Status
from touches.record import (
    Outcome,
    TouchInput,
    natural_key,
    record_touch,
    remove_touch,
    touches_by_key,
)
from touches.types import Origin, TouchType

#: The step's cursor (core.hub_cursor).
CURSOR_NAME = "touches:campaign-members"
PAGE_SIZE = 500
#: What a member's touch sets besides its key fields; UTM values someone imported stay.
MEMBER_FIELDS = ("channel", "origin", "member_id")


@dataclass
class MemberTouchReport:
    """What one run of the step did."""

    members: int = 0
    created: int = 0
    updated: int = 0
    removed: int = 0

    def add(self, outcome: Outcome | None, removed: bool = False) -> None:
        """Count one member's outcome."""
        if outcome is Outcome.CREATED:
            self.created += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        self.removed += int(removed)


@dataclass
class _Cursor:
    member: int = 0
    campaign: int = 0
    programs: str = ""


def _read_cursor(db: Session) -> _Cursor:
    data = read_cursor(db, CURSOR_NAME)
    if not data:
        return _Cursor()
    return _Cursor(int(data["member"]), int(data["campaign"]), str(data["programs"]))


def _write_cursor(db: Session, cursor: _Cursor) -> None:
    write_cursor(db, CURSOR_NAME, {"member": cursor.member, "campaign": cursor.campaign,
                                   "programs": cursor.programs})


def member_status(programs: Programs, channel: Channel | None, code: str | None) -> Status | None:
    """A member's status as its campaign's channel defines it (None: not in the file)."""
    if channel is not None:
        return channel.status(code)
    return programs.shared_status(code)


def touch_for(
    member: CampaignMember, campaign: Campaign | None, programs: Programs
) -> tuple[str, str] | None:
    """(touch type, origin) when the member counts as a touch, else None."""
    if member.deleted_at is not None or campaign is None or campaign.deleted_at is not None:
        return None
    channel = programs.channel_of(campaign)
    status = member_status(programs, channel, member.status)
    if status is not None and status.negative:
        return None  # a no (declined, bounced) is an answer, not engagement
    responded = member.responded or member.first_responded_at is not None
    if not responded and not (status is not None and status.success):
        return None
    if status is not None:
        kind = status.touch_type
    else:
        kind = channel.touch_type if channel is not None else TouchType.OTHER.value
    origin = Origin.CRM_RESPONSE if responded else Origin.MEMBER_STATUS
    return kind, origin.value


def _touch_input(
    member: CampaignMember,
    campaign: Campaign | None,
    programs: Programs,
    live: list[Touch],
    wanted: tuple[str, str],
) -> TouchInput:
    """The touch a counting member stands for (its time kept once it has one)."""
    kind, origin = wanted
    occurred: datetime | None = member.first_responded_at
    if occurred is None:
        occurred = live[0].occurred_at if live else None
    if occurred is None:
        occurred = member.updated_at or utcnow()
    channel = programs.channel_of(campaign)
    return TouchInput(
        person_id=member.person_id,
        occurred_at=occurred,
        touch_type=kind,
        origin=origin,
        campaign_id=member.campaign_id,
        channel=channel.name if channel is not None else campaign.channel if campaign else None,
        member_id=member.id,
    )


def _live(touches: Iterable[Touch]) -> list[Touch]:
    """A member's live touches, the latest written first."""
    return sorted((t for t in touches if t.deleted_at is None), key=lambda t: t.change_seq,
                  reverse=True)


def sync_member(
    db: Session,
    member: CampaignMember,
    campaign: Campaign | None,
    programs: Programs,
    touches: Iterable[Touch],
    known: Mapping[str, Touch] | None = None,
) -> tuple[Outcome | None, bool]:
    """Bring the member's touch in step with it; returns (outcome, whether one was removed).

    ``touches`` are the touches made by this member (``member_id``), removed ones included;
    ``known`` as for record_touch.
    """
    mine = sorted(touches, key=lambda t: (t.deleted_at is None, t.change_seq), reverse=True)
    live = _live(mine)
    wanted = touch_for(member, campaign, programs)
    if wanted is None:
        return None, sum(remove_touch(db, t) for t in live) > 0
    current = live[0] if live else (mine[0] if mine else None)
    touch = _touch_input(member, campaign, programs, live, wanted)
    outcome, kept = record_touch(db, touch, fields=MEMBER_FIELDS, replaces=current, known=known)
    # Any other live touch of this member is a leftover (two touches for one membership).
    removed = sum(remove_touch(db, t) for t in live if t is not kept) > 0
    return outcome, removed


def _sync_page(
    db: Session, members: list[CampaignMember], programs: Programs, report: MemberTouchReport
) -> None:
    ids = [m.id for m in members]
    campaign_ids = list({m.campaign_id for m in members})
    campaigns = {
        c.id: c for c in db.exec(select(Campaign).where(col(Campaign.id).in_(campaign_ids)))
    }
    made: dict[str, list[Touch]] = {}
    for touch in db.exec(select(Touch).where(col(Touch.member_id).in_(ids))):
        made.setdefault(touch.member_id or "", []).append(touch)
    # Members never share a natural key (it holds the person and the campaign, and a person is
    # in a campaign once), so the page's keys are looked up at once, and nothing needs to see
    # the page's new touches before its one flush (one change_seq allocation).
    keys = []
    for member in members:
        campaign = campaigns.get(member.campaign_id)
        wanted = touch_for(member, campaign, programs)
        if wanted is not None:
            live = _live(made.get(member.id, []))
            touch = _touch_input(member, campaign, programs, live, wanted)
            keys.append(natural_key(touch.person_id, touch.occurred_at, touch.touch_type,
                                    touch.campaign_id))
    known = touches_by_key(db, keys)
    with db.no_autoflush:
        for member in members:
            outcome, removed = sync_member(
                db, member, campaigns.get(member.campaign_id), programs, made.get(member.id, []),
                known,
            )
            report.members += 1
            report.add(outcome, removed)
    db.flush()


def member_touches(
    engine: Engine, programs: Programs, *, page_size: int = PAGE_SIZE
) -> MemberTouchReport:
    """Bring the touches of every campaign member changed since the last run in step.

    Each page commits with its cursor: a run stopped half-way redoes at most one page, and
    redoing one writes nothing (recording is idempotent).
    """
    report = MemberTouchReport()
    with db_session(engine) as db:
        if not _pending(db, _read_cursor(db), programs):
            return report  # idle: two indexed reads, no write and no lock
    while True:
        with db_session(engine) as db:
            # Taking the counter's lock first: two processes running the step take turns, and
            # every change_seq up to the current one is committed (core.sequence).
            sequence.hold(db)
            cursor = _read_cursor(db)
            if cursor.programs != programs.fingerprint:
                # Statuses or channels changed meaning: look at every member again.
                cursor = _Cursor(0, sequence.current_seq(db), programs.fingerprint)
            members = sequence.changes_since(db, CampaignMember, cursor.member, limit=page_size)
            if members:
                _sync_page(db, members, programs, report)
                cursor.member = members[-1].change_seq
                _write_cursor(db, cursor)
                if len(members) == page_size:
                    continue
                # A short page was the last one: campaigns are looked at in the same breath.
            campaigns = sequence.changes_since(db, Campaign, cursor.campaign)
            if campaigns:
                _sync_campaigns(db, [c.id for c in campaigns], programs, report)
                cursor.campaign = campaigns[-1].change_seq
            _write_cursor(db, cursor)
            return report


def _pending(db: Session, cursor: _Cursor, programs: Programs) -> bool:
    """Whether a member or campaign changed since the cursor, or the programs file did."""
    if cursor.programs != programs.fingerprint:
        return True
    return (sequence.changed_after(db, [CampaignMember], cursor.member)
            or sequence.changed_after(db, [Campaign], cursor.campaign))


def _sync_campaigns(
    db: Session, campaign_ids: list[str], programs: Programs, report: MemberTouchReport
) -> None:
    """A campaign's channel, type or deletion changes what each of its members is worth."""
    for start in range(0, len(campaign_ids), PAGE_SIZE):
        batch = campaign_ids[start : start + PAGE_SIZE]
        members = list(
            db.exec(select(CampaignMember).where(col(CampaignMember.campaign_id).in_(batch)))
        )
        for offset in range(0, len(members), PAGE_SIZE):
            _sync_page(db, members[offset : offset + PAGE_SIZE], programs, report)


def reset(engine: Engine) -> None:
    """Forget the cursor: the next run looks at every campaign member again."""
    with db_session(engine) as db:
        forget_cursor(db, CURSOR_NAME)
