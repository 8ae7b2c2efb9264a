"""What a pulled record stands for: its touches, and a person's campaign membership.

A mapping's ``activity:`` block (mappings.activity) names them over the remote record's
fields. The pull records them in the transaction that writes the record, after it: a webinar
registrant's registration and attendance, a form submission's fill and its campaign.

Touches go through :func:`touches.record.record_touch`, so reading the record again records
nothing new. A membership only moves forward, in its campaign's channel order (programs.yaml):
a second form fill never moves an attendee back to "filled out". A success status also sets
``first_responded_at`` to the touch's time, so the member's own touch (touches.members) is
that very touch and not a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors.errors import ErrorKind
from core.hubschema import HubField
from core.models import Campaign, CampaignMember, HubRecord
from core.values import blank
from jobs.failures import Failure
from mappings.activity import UTM_COLUMNS, MembershipSpec, TouchSpec
from mappings.spec import Mapping as MappingSpec
from touches.programs import Programs
from touches.record import TouchInput, TouchRefusedError, record_touch
from touches.types import Origin
from touches.utm import NO_ALIASES

#: What reading the record again may change on its touch: never its origin or member, which
#: the member step may have given it since.
ACTIVITY_FIELDS = ("channel", *UTM_COLUMNS.values(), "landing_page", "detail")
#: Codes of the record-level errors an activity block records.
CAMPAIGN_UNKNOWN = "CAMPAIGN_UNKNOWN"
ACTIVITY_REFUSED = "ACTIVITY_REFUSED"
_MOMENT = HubField("at", "datetime")


def record_activity(
    session: Session,
    mapping: MappingSpec,
    hub: HubRecord,
    fields: Mapping[str, Any],
    *,
    programs: Programs | None,
    read_at: datetime,
) -> list[Failure]:
    """Record the touches and membership ``fields`` stand for; the problems, if any.

    ``read_at`` is when the record was received or read: the time of a touch whose ``at``
    fields are all blank. Nothing is written for a touch or membership that has a problem.
    """
    activity = mapping.activity
    if activity is None:
        return []
    values = dict(fields)
    failures: list[Failure] = []
    person_id = str(getattr(hub, "person_id", None) or hub.id)
    member_campaign = getattr(hub, "campaign_id", None)
    joined: Campaign | None = None
    if activity.membership is not None:
        joined, failure = _membership_campaign(session, activity.membership, values)
        if failure is not None:
            # Its touches would lack their campaign: all of it waits for the replay.
            return [failure]
    first_time: datetime | None = None
    for spec in activity.touches:
        try:
            if not spec.applies(values):
                continue
            at = _moment(spec, values, read_at)
            campaign: Campaign | None = None
            if member_campaign:
                campaign = session.get(Campaign, member_campaign)
            elif spec.campaign and not blank(values.get(spec.campaign)):
                campaign = find_campaign(session, str(values[spec.campaign]))
                if campaign is None:
                    failures.append(_unknown(spec.campaign, str(values[spec.campaign])))
                    continue
            else:
                campaign = joined
            _record(session, spec, values, person_id, campaign, at, programs)
            first_time = first_time or at
        except (TouchRefusedError, ValueError) as exc:
            failures.append(Failure(
                ErrorKind.VALIDATION, f"the {spec.type.value} touch: {exc}",
                code=ACTIVITY_REFUSED, field=spec.at[0] if spec.at else None,
                hint=f"fix the value in {mapping.connection} (or the mapping's activity "
                "block), then replay",
            ))
    if joined is not None and activity.membership is not None:
        channel = programs.channel_of(joined) if programs is not None else None
        status = activity.membership.status_for(channel.name if channel else joined.channel)
        advance_member(session, person_id, joined, status, first_time or read_at, programs)
    return failures


def _record(
    session: Session, spec: TouchSpec, values: Mapping[str, Any], person_id: str,
    campaign: Campaign | None, at: datetime, programs: Programs | None,
) -> None:
    channel = programs.channel_of(campaign) if programs is not None and campaign else None
    utm = {column: _text(values.get(spec.utm[key])) for key, column in UTM_COLUMNS.items()
           if key in spec.utm}
    touch = TouchInput(
        person_id=person_id,
        occurred_at=at,
        touch_type=spec.type.value,
        origin=Origin.ACTIVITY.value,
        campaign_id=campaign.id if campaign else None,
        channel=channel.name if channel else (campaign.channel if campaign else None),
        landing_page=_text(values.get(spec.landing_page)) if spec.landing_page else None,
        detail={key: values.get(name) for key, name in spec.detail.items()
                if not blank(values.get(name))},
        **utm,
    )
    aliases = programs.aliases if programs is not None else NO_ALIASES
    record_touch(session, touch, aliases=aliases, fields=ACTIVITY_FIELDS)


def _moment(spec: TouchSpec, values: Mapping[str, Any], read_at: datetime) -> datetime:
    """The first ``at`` field holding a time; ValueError for one that is not a time."""
    for name in spec.at:
        moment = _MOMENT.coerce(values.get(name))
        if moment is not None:
            return moment
    return read_at


def _text(value: Any) -> str | None:
    return None if blank(value) else str(value)


def find_campaign(session: Session, named: str) -> Campaign | None:
    """The live hub campaign with this id, else this name (case and spaces aside)."""
    found = session.get(Campaign, named)
    if found is not None and found.deleted_at is None:
        return found
    wanted = " ".join(named.split()).lower()
    query = select(Campaign).where(
        func.lower(col(Campaign.name)) == wanted, col(Campaign.deleted_at).is_(None)
    ).order_by(col(Campaign.created_at))
    return session.exec(query).first()


def _membership_campaign(
    session: Session, spec: MembershipSpec, values: Mapping[str, Any]
) -> tuple[Campaign | None, Failure | None]:
    """The campaign a record joins (None when it names none), or why it cannot."""
    named: str | None = None
    field = spec.campaign
    if spec.by and not blank(values.get(spec.by)):
        named, field = spec.campaigns.get(str(values[spec.by])), spec.by
    if named is None and spec.campaign and not blank(values.get(spec.campaign)):
        named, field = str(values[spec.campaign]), spec.campaign
    if named is None:
        return None, None  # a form posted without a campaign is still a fill
    campaign = find_campaign(session, named)
    return (campaign, None) if campaign else (None, _unknown(field or "campaign", named))


def _unknown(field: str, named: str) -> Failure:
    # Retried like a reference not synced yet: the campaign may be on its way from a CRM or
    # from Zoom, and the submission then goes through by itself.
    return Failure(
        ErrorKind.TRANSIENT,
        f"{field}: no campaign in the hub has the id or name {named!r}",
        code=CAMPAIGN_UNKNOWN, field=field,
        hint="create the campaign (or sync it from the CRM), or correct the name the form "
        "sends; it is retried by itself, or replay it at once",
    )


def advance_member(
    session: Session, person_id: str, campaign: Campaign, status: str, at: datetime,
    programs: Programs | None,
) -> CampaignMember:
    """Add the person to the campaign at ``status``, or move their membership forward to it."""
    member = session.exec(select(CampaignMember).where(
        col(CampaignMember.person_id) == person_id, col(CampaignMember.campaign_id) == campaign.id
    )).first()
    channel = programs.channel_of(campaign) if programs is not None else None
    reached = channel.status(status) if channel is not None else None
    success = reached is not None and reached.success
    if member is None:
        member = CampaignMember(person_id=person_id, campaign_id=campaign.id, status=status,
                                responded=success, first_responded_at=at if success else None)
        session.add(member)
        return member
    changed = member.deleted_at is not None
    member.deleted_at = None
    if _rank(programs, campaign, status) > _rank(programs, campaign, member.status):
        member.status = status
        changed = True
    if success and member.first_responded_at is None:
        member.first_responded_at = at
        changed = True
    if success and not member.responded:
        member.responded = True  # a CRM marks a success status a response too
        changed = True
    if changed:
        session.add(member)
    return member


def _rank(programs: Programs | None, campaign: Campaign, code: str | None) -> int:
    """Position of a status in the campaign's channel order; -1 when not there (or blank)."""
    channel = programs.channel_of(campaign) if programs is not None else None
    if channel is None or not code:
        return -1
    codes = [status.code for status in channel.statuses]
    return codes.index(code) if code in codes else -1
