"""Identity links of one mapping, loaded a page at a time, and id translation for ``ref`` fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.hubschema import normalize_email
from core.models import HUB_MODELS, Link
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
        wanted = {normalize_email(v) if name == "email" else v: v for v in values if v}
        rows = self.session.exec(
            select(column, model.id).where(
                col(column).in_(list(wanted)), col(model.deleted_at).is_(None)
            )
        )
        return {wanted[value]: hub for value, hub in rows if value in wanted}


def _names(ref: str | Sequence[str]) -> tuple[str, ...]:
    return (ref,) if isinstance(ref, str) else tuple(ref)
