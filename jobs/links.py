"""Identity links: one mapping's, a page at a time; new ones claimed safely; ``ref`` translation.

A link is decided by whichever cycle gets there first: a converted Lead's mapping moves its
person to the Contact while the Contact's mapping matches the same person by email. Every new
or moved link is therefore *claimed*: under the hub write lock, and only if neither its remote
record nor its hub record's place on that remote object is taken. The second cycle gets the
link in its way back and decides with it, instead of failing its page on a unique key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from core import sequence
from core.models import HUB_MODELS, Link
from core.values import normalise_email
from mappings.spec import Mapping


class LinkIndex:
    """The links between one hub object and one remote object on one connection."""

    def __init__(self, session: Session, mapping: Mapping) -> None:
        self.session = session
        self.mapping = mapping

    def _base(self):  # type: ignore[no-untyped-def]
        return select(Link).where(
            Link.hub_object == self.mapping.hub_object,
            Link.connection == self.mapping.connection,
            Link.remote_object == self.mapping.remote_object,
        )

    def by_remote(self, remote_ids: Iterable[str]) -> dict[str, Link]:
        """Links keyed by remote id."""
        ids = list(set(remote_ids))
        if not ids:
            return {}
        rows = self.session.exec(self._base().where(col(Link.remote_id).in_(ids)))
        return {link.remote_id: link for link in rows}

    def by_hub(self, hub_ids: Iterable[str]) -> dict[str, Link]:
        """Links keyed by hub id."""
        ids = list(set(hub_ids))
        if not ids:
            return {}
        rows = self.session.exec(self._base().where(col(Link.hub_id).in_(ids)))
        return {link.hub_id: link for link in rows}

    def count(self) -> int:
        """How many records are linked (the mass-change brake's denominator)."""
        return int(
            self.session.exec(
                select(func.count())
                .select_from(Link)
                .where(
                    Link.hub_object == self.mapping.hub_object,
                    Link.connection == self.mapping.connection,
                    Link.remote_object == self.mapping.remote_object,
                )
            ).one()
        )


def claim(session: Session, links: Sequence[Link]) -> list[Link | None]:
    """Add each new link unless another is in its way; per link, that other link or None.

    One lock and one query for a page of links. A link in the way is one holding the same
    remote record, or the same hub record's place on that remote object; links earlier in
    ``links`` count too.
    """
    if not links:
        return []
    held = _Held(_existing(session, links))
    found: list[Link | None] = []
    for link in links:
        taken = held.in_the_way(link, link.remote_object, link.remote_id)
        found.append(taken)
        if taken is None:
            session.add(link)
            held.add(link)
    return found


def move(session: Session, link: Link, remote_object: str, remote_id: str) -> Link | None:
    """Point ``link`` at another remote record unless a link is in the way; returns that one."""
    target = Link(
        hub_object=link.hub_object,
        hub_id=link.hub_id,
        connection=link.connection,
        remote_object=remote_object,
        remote_id=remote_id,
        mapping=link.mapping,
    )
    existing = [row for row in _existing(session, [target]) if row.id != link.id]
    taken = _Held(existing).in_the_way(target, remote_object, remote_id)
    if taken is None:
        link.remote_object, link.remote_id = remote_object, remote_id
        session.add(link)
    return taken


def _existing(session: Session, links: Sequence[Link]) -> list[Link]:
    """Links that may be in the way of ``links``, read under the lock every hub writer takes.

    The lock (core.sequence.hold) makes the answer hold until this transaction ends: a link
    another cycle made meanwhile is committed and visible by now, or that cycle waits for us.
    """
    sequence.hold(session)
    rows: list[Link] = []
    scopes: dict[tuple[str, str], list[Link]] = {}
    for link in links:
        scopes.setdefault((link.connection, link.remote_object), []).append(link)
    for (connection, remote_object), scoped in sorted(scopes.items()):
        rows.extend(
            session.exec(
                select(Link).where(
                    Link.connection == connection,
                    Link.remote_object == remote_object,
                    or_(
                        col(Link.remote_id).in_({k.remote_id for k in scoped}),
                        and_(
                            col(Link.hub_object).in_({k.hub_object for k in scoped}),
                            col(Link.hub_id).in_({k.hub_id for k in scoped}),
                        ),
                    ),
                )
            )
        )
    return rows


class _Held:
    """Links by the two unique keys of the link table, to see what is in a new link's way."""

    def __init__(self, links: Iterable[Link]) -> None:
        self.by_remote: dict[tuple[str, str, str], Link] = {}
        self.by_hub: dict[tuple[str, str, str, str], Link] = {}
        for link in links:
            self.add(link)

    def add(self, link: Link) -> None:
        self.by_remote[(link.connection, link.remote_object, link.remote_id)] = link
        self.by_hub[(link.hub_object, link.hub_id, link.connection, link.remote_object)] = link

    def in_the_way(self, link: Link, remote_object: str, remote_id: str) -> Link | None:
        # The remote record's own link first: it says who that record belongs to now.
        return self.by_remote.get((link.connection, remote_object, remote_id)) or self.by_hub.get(
            (link.hub_object, link.hub_id, link.connection, remote_object)
        )


class RefResolver:
    """Translates hub ids ↔ remote ids through another mapping's links (``ref:`` field rows)."""

    def __init__(self, session: Session, mappings: dict[str, Mapping]) -> None:
        self.session = session
        self.mappings = mappings

    def to_remote(self, ref: str | Sequence[str], hub_ids: Iterable[str]) -> dict[str, str]:
        """Hub id → remote id for hub records linked under mapping ``ref`` (the first that is)."""
        ids = list(hub_ids)
        found: dict[str, str] = {}
        for name in _names(ref):
            if "." in name:
                for hub, value in self._by_field(name, ids, by_id=True).items():
                    found.setdefault(hub, value)
                continue
            for hub, link in LinkIndex(self.session, self.mappings[name]).by_hub(ids).items():
                found.setdefault(hub, link.remote_id)
        return found

    def to_hub(self, ref: str | Sequence[str], remote_ids: Iterable[str]) -> dict[str, str]:
        """Remote id → hub id for remote records linked under ``ref`` (the first that is)."""
        ids = list(remote_ids)
        found: dict[str, str] = {}
        for name in _names(ref):
            if "." in name:
                for value, hub in self._by_field(name, ids, by_id=False).items():
                    found.setdefault(value, hub)
                continue
            index = LinkIndex(self.session, self.mappings[name])
            for rid, link in index.by_remote(ids).items():
                found.setdefault(rid, link.hub_id)
        return found


    def _by_field(self, ref: str, values: list[str], *, by_id: bool) -> dict[str, str]:
        """``object.field`` refs: hub id → field value (by_id), or remote value → hub id.

        Values compare as the hub stores them (emails normalised), so ``ANN@acme.com`` in the
        remote finds the person ``ann@acme.com``.
        """
        obj, _, name = ref.partition(".")
        model = HUB_MODELS[obj]
        column = getattr(model, name)
        if by_id:
            rows = self.session.exec(
                select(model.id, column).where(col(model.id).in_(values))
            )
            return {hub: str(value) for hub, value in rows if value is not None}
        wanted = {normalise_email(v) if name == "email" else v: v for v in values if v}
        rows = self.session.exec(
            select(column, model.id).where(
                col(column).in_(list(wanted)), col(model.deleted_at).is_(None)
            )
        )
        return {wanted[value]: hub for value, hub in rows if value in wanted}


def _names(ref: str | Sequence[str]) -> tuple[str, ...]:
    return (ref,) if isinstance(ref, str) else tuple(ref)
