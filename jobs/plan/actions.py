"""The typed actions a page's plan is made of: what syncing one record will do, before any write.

A planner turns what the fetch step read into one action per record; the apply step executes
them. Both directions use the same vocabulary: ``key`` is the record the action is about (a
remote id when pulling, a hub id when pushing), and the per-field decisions of a record that is
written travel in its :class:`FieldMoves`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.base import Change
from core.models import HubRecord
from core.models import Link as LinkRow
from jobs.failures import Failure


@dataclass(frozen=True, slots=True)
class Conflict:
    """One field both sides changed, held until an edit decides (the admin's call)."""

    field: str  # the remote field
    hub: Any  # the hub's value, in the remote's representation
    remote: Any
    failure: Failure  # the sync error an admin sees


@dataclass(frozen=True, slots=True)
class Kept:
    """A value one side offered that lost: the hub keeps its own (for the field history).

    Pulling, a remote change the rules did not take into the hub; pushing, a remote value
    that differs from the hub's and stands, though the push takes it nowhere.
    """

    remote_field: str
    hub_field: str  # a computed row (``expr``), which has none: its remote field
    kept: Any  # the hub's value, in the hub's form (a computed row's: the remote's form)
    offered: Any  # the remote's value, in the remote's form
    reason: str


@dataclass(slots=True)
class FieldMoves:
    """The per-field decisions of one record."""

    #: Hub field → value to write into the hub.
    to_hub: dict[str, Any] = field(default_factory=dict)
    #: Remote field → value to write to the remote (pulling: the remote needs correcting).
    to_remote: dict[str, Any] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    #: Remote fields whose held conflict this look decided.
    settled: list[str] = field(default_factory=list)
    #: A conflict held earlier still waits for an edit on either side.
    waiting: bool = False
    #: A move blanks a value the other side holds (counted by the mass-change brake).
    destructive: bool = False
    #: Remote field → why its value was left out (a transform or the hub refused it) while
    #: the rest of the record syncs (``on_field_error: skip_field``).
    refused: dict[str, Failure] = field(default_factory=dict)
    #: Remote fields decided without a failure: their earlier refusals are over.
    clean: list[str] = field(default_factory=list)
    #: Optional reference field → the remote id it names, not linked yet (its failure is in
    #: ``refused``): the record goes without it and is read again on retry.
    pending: dict[str, str] = field(default_factory=dict)
    #: Remote field → why its value moves (the rule or conflict policy that decided).
    reasons: dict[str, str] = field(default_factory=dict)
    #: Values a remote offered that the hub did not take, and why.
    kept: list[Kept] = field(default_factory=list)


@dataclass(slots=True)
class Skip:
    """Nothing to write for this record."""

    key: str
    #: True: the mapping keeps the record out (a rule, a policy) and the run counts it skipped.
    #: False: there is simply nothing to do (our own write read back, no news).
    counted: bool = True
    hub: HubRecord | None = None


@dataclass(slots=True)
class Fail:
    """The record cannot sync this cycle; the failure is recorded as its sync error."""

    key: str
    failure: Failure
    hub: HubRecord | None = None
    #: (field, id) of a referenced record not synced yet: why it waits, to explain later.
    waiting_on: tuple[str, str] | None = None


@dataclass(slots=True)
class Write:
    """A record whose fields are written: the shape Create, Link and Update share."""

    key: str
    hub: HubRecord | None
    link: LinkRow | None
    moves: FieldMoves = field(default_factory=FieldMoves)
    #: Pulling: the remote fields as they now stand, the link's next snapshot.
    snapshot: dict[str, Any] = field(default_factory=dict)
    #: Pulling: the link's held conflicts after this look (remote field → hub value kept).
    held: dict[str, Any] = field(default_factory=dict)

    @property
    def destructive(self) -> bool:
        """Counted by the mass-change brake."""
        return self.moves.destructive


@dataclass(slots=True)
class Create(Write):
    """A new record on the side being written (a hub record, or a remote one)."""


@dataclass(slots=True)
class Link(Write):
    """A first link to a record that already exists on the other side, merged field by field.

    Pulling, ``adopted`` says the remote record carries our own hub id (we created it and a
    crash kept us from linking it). Pushing, ``matched`` is the remote record found by the
    mapping's match keys.
    """

    adopted: bool = False
    matched: Change | None = None


@dataclass(slots=True)
class Update(Write):
    """A linked record whose fields move (or whose held conflicts wait or settle)."""


@dataclass(slots=True)
class Unlink:
    """Forget the link; both records stay as they are."""

    key: str
    link: LinkRow
    hub: HubRecord | None = None


@dataclass(slots=True)
class Delete:
    """Delete the record on the side being written, and its link."""

    key: str
    link: LinkRow
    hub: HubRecord | None = None
    #: Counted by the mass-change brake (a hub record already deleted is not).
    destructive: bool = True


Action = Skip | Fail | Create | Link | Update | Unlink | Delete


def destructive_count(actions: list[Action]) -> int:
    """How many of ``actions`` delete or blank something: what the brake is asked about."""
    return sum(isinstance(a, Write | Delete) and a.destructive for a in actions)
