"""A mapping's ``activity:`` block: the touches and memberships each pulled record stands for.

A webinar registration or a form submission is more than the record it updates: it is
something the person did. ``activity`` says what, over the remote record's fields::

    activity:
      touches:
        - {type: webinar_registration, at: create_time}
        - type: webinar_attended
          at: first_join_time
          when: "attendance == 'Attended'"
          detail: {minutes: minutes_attended}
      membership: {campaign: campaign, status: filled_out}

Every touch goes through ``touches.record`` (one touch per person, time, type and campaign,
however often the record is read). On a ``campaign_member`` mapping the touch belongs to the
member's person and campaign; on a ``person`` mapping to the person, and to the campaign the
``campaign`` field (or ``membership``) names, by hub id or by name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from touches.types import TouchType

#: The UTM parameters an ``activity`` touch may name → the touch column each fills.
UTM_COLUMNS = {"source": "source", "medium": "medium", "campaign": "utm_campaign",
               "content": "utm_content", "term": "utm_term"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TouchSpec(_Strict):
    """One touch a pulled record stands for."""

    type: TouchType
    #: Remote fields holding when it happened, the first that holds a time wins; none: when
    #: the record was received (a form post) or read.
    at: list[str] = Field(default_factory=list)
    #: Only records this expression (over remote fields) passes stand for the touch.
    when: str | None = None
    #: Remote field naming the campaign (hub id or name), on a person mapping.
    campaign: str | None = None
    #: UTM parameter (source, medium, campaign, content, term) → remote field.
    utm: dict[str, str] = Field(default_factory=dict)
    landing_page: str | None = None
    #: Key kept in the touch's detail → remote field.
    detail: dict[str, str] = Field(default_factory=dict)
    #: ``when`` compiled by the loader (a mappings.expressions.Expression).
    _when: Any = PrivateAttr(default=None)

    def applies(self, remote_fields: dict[str, Any]) -> bool:
        """Does this record stand for the touch? (no ``when``: every record does)."""
        return self._when is None or bool(self._when(remote_fields))

    @field_validator("utm")
    @classmethod
    def _utm_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(UTM_COLUMNS))
        if unknown:
            raise ValueError(f"unknown UTM parameter {', '.join(unknown)} (known: "
                             f"{', '.join(UTM_COLUMNS)})")
        return value

    def remote_fields(self) -> list[str]:
        """Every remote field the touch reads, its ``when`` included once compiled."""
        named = [*self.at, self.campaign, self.landing_page, *self.utm.values(),
                 *self.detail.values(), *sorted(self._when.names if self._when else ())]
        return [name for name in named if name]


class MembershipSpec(_Strict):
    """The campaign membership a pulled person record adds or moves forward."""

    #: Remote field naming the campaign (hub id or name).
    campaign: str | None = None
    #: Remote field whose value picks a campaign from ``campaigns`` (a form's id).
    by: str | None = None
    #: ``by`` value → campaign (hub id or name): a per-form map.
    campaigns: dict[str, str] = Field(default_factory=dict)
    #: The hub status code the member reaches (moves forward only, in its channel's order).
    status: str = Field(min_length=1)
    #: Another status for campaigns of these channels: a webinar's sign-up form registers
    #: (``{Webinar: registered}``), which the webinar's own mapping then sends to Zoom.
    status_by_channel: dict[str, str] = Field(default_factory=dict)

    def status_for(self, channel: str | None) -> str:
        """The status a member of a campaign of ``channel`` reaches."""
        return self.status_by_channel.get(channel or "", self.status)

    def remote_fields(self) -> list[str]:
        """Every remote field the membership reads."""
        return [name for name in (self.campaign, self.by) if name]


class Activity(_Strict):
    """The ``activity:`` block of a mapping."""

    touches: list[TouchSpec] = Field(default_factory=list)
    membership: MembershipSpec | None = None

    def remote_fields(self) -> list[str]:
        """Every remote field the block reads (a connector reads them with the mapped ones)."""
        names = [name for touch in self.touches for name in touch.remote_fields()]
        if self.membership is not None:
            names += self.membership.remote_fields()
        return list(dict.fromkeys(names))


