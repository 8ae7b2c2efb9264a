"""Field rules: which way each mapped field flows, and who wins when both sides changed it."""

from __future__ import annotations

from enum import StrEnum


class FieldRule(StrEnum):
    """Per-field sync rule, as admins know them from HubSpot and Marketo.

    ============================ ================ ================ ==================
    rule                         hub → remote     remote → hub     both changed
    ============================ ================ ================ ==================
    two_way                      yes              yes              ``conflicts``
    hub_wins                     yes              yes              hub
    remote_wins                  yes              yes              remote
    prefer_remote_unless_blank   into blank only  unless blank     remote unless blank
    prefer_hub_unless_blank      unless blank     into blank only  hub unless blank
    to_remote                    yes (enforced)   no               hub
    to_hub                       no               yes              remote
    fill_blank                   into blank only  into blank only  neither
    to_hub_if_blank              no               into blank only  neither
    forward                      no               to a later value remote if later
    none                         no               no               n/a
    ============================ ================ ================ ==================

    ``to_hub_if_blank`` takes a remote value the hub lacks and never replaces one: Salesforce's
    FirstRespondedDate (the day a member was marked responded) fills a member's blank
    response time, never the exact time a webinar's report gave.

    ``forward`` is for statuses that only move on (Registered → No Show → Attended): the
    remote's value is taken when it comes later in the row's ``value_map`` order than the
    hub's, so an older report or a slower system can never move a member back.
    """

    TWO_WAY = "two_way"
    HUB_WINS = "hub_wins"
    REMOTE_WINS = "remote_wins"
    PREFER_REMOTE_UNLESS_BLANK = "prefer_remote_unless_blank"
    PREFER_HUB_UNLESS_BLANK = "prefer_hub_unless_blank"
    TO_REMOTE = "to_remote"
    TO_HUB = "to_hub"
    FILL_BLANK = "fill_blank"
    TO_HUB_IF_BLANK = "to_hub_if_blank"
    FORWARD = "forward"
    NONE = "none"


#: Rules under which a hub value may be written to the remote.
#: Rules that never write a hub value to the remote.
PULL_ONLY = frozenset({FieldRule.TO_HUB, FieldRule.TO_HUB_IF_BLANK, FieldRule.FORWARD})
PUSH_RULES = frozenset(set(FieldRule) - PULL_ONLY - {FieldRule.NONE})
#: Rules under which a remote value may be written to the hub.
PULL_RULES = frozenset(set(FieldRule) - {FieldRule.TO_REMOTE, FieldRule.NONE})
#: Rules that are one-way by definition (computed fields must use one of these).
ONE_WAY_RULES = frozenset({FieldRule.TO_REMOTE, FieldRule.TO_HUB})


class Conflicts(StrEnum):
    """How a two_way field changed on both sides since the last sync is resolved."""

    NEWEST_WINS = (
        "newest_wins"  # the side whose record changed last (remote modstamp vs hub updated_at)
    )
    HUB_WINS = "hub_wins"
    REMOTE_WINS = "remote_wins"
    MANUAL = "manual"  # keep both, record a conflict sync_error for an admin


class Direction(StrEnum):
    """Which phases a mapping runs."""

    TO_REMOTE = "to_remote"
    TO_HUB = "to_hub"
    BOTH = "both"

    @property
    def pulls(self) -> bool:
        """True when the to_hub phase runs."""
        return self is not Direction.TO_REMOTE

    @property
    def pushes(self) -> bool:
        """True when the to_remote phase runs."""
        return self is not Direction.TO_HUB
