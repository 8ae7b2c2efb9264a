"""Connections come in pairs: the row a caller writes and its reciprocal, kept by the platform.

Dataverse stores each connection twice: the row created (``ismaster`` true) and a reciprocal
row with the two records and the two roles swapped (``ismaster`` false); ``relatedconnectionid``
links them. A stakeholder added to an opportunity is thus readable from either side, and a
reader that wants "contacts of opportunities" takes the rows whose ``record1id`` is the
opportunity. Changing or deleting one row changes or deletes the other; each also records
the type of the records it joins (``record1objecttypecode``, ``record2objecttypecode``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sandboxes.dynamics.sales_entities import OBJECT_TYPE_CODES
from sandboxes.dynamics.validation import LOOKUP_NAME

ENTITY = "connection"
# Stored properties mirrored onto the reciprocal row, and the pairs that swap sides there.
_SHARED = ("description", "effectivestart", "effectiveend", "statecode", "statuscode")
_SWAPPED = (("record1id", "record2id"), ("record1roleid", "record2roleid"))


class Rows(Protocol):
    """What this module needs of the Environment."""

    def find(self, entity: str, guid: str) -> dict | None: ...  # noqa: D102

    def create_system(self, entity: str, stored: Mapping[str, Any]) -> str: ...  # noqa: D102

    def set_system_values(  # noqa: D102
        self, entity: str, guid: str, values: Mapping[str, Any]
    ) -> None: ...

    def delete(self, entity: str, guid: str) -> None: ...  # noqa: D102


def _lookup(row: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = f"_{name}_value"
    return {value: row.get(value), value + LOOKUP_NAME: row.get(value + LOOKUP_NAME)}


def _mirror(row: Mapping[str, Any]) -> dict[str, Any]:
    """The reciprocal's stored values for ``row``: sides swapped, the rest shared."""
    values: dict[str, Any] = {name: row.get(name) for name in _SHARED}
    for left, right in _SWAPPED:
        for mine, theirs in ((left, right), (right, left)):
            source = _lookup(row, theirs)
            values.update({key.replace(f"_{theirs}_", f"_{mine}_"): v for key, v in source.items()})
    return {**values, **_type_codes(values)}


def _type_codes(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        f"record{side}objecttypecode": OBJECT_TYPE_CODES.get(
            values.get(f"_record{side}id_value{LOOKUP_NAME}") or ""
        )
        for side in (1, 2)
    }


def after_create(env: Rows, guid: str) -> None:
    """Record the joined types on a new connection and create its reciprocal."""
    row = env.find(ENTITY, guid)
    assert row is not None
    reciprocal = env.create_system(
        ENTITY,
        {
            **_mirror(row),
            "ismaster": False,
            "_relatedconnectionid_value": guid,
            "_relatedconnectionid_value" + LOOKUP_NAME: ENTITY,
        },
    )
    env.set_system_values(
        ENTITY,
        guid,
        {
            **_type_codes(row),
            "ismaster": True,
            "_relatedconnectionid_value": reciprocal,
            "_relatedconnectionid_value" + LOOKUP_NAME: ENTITY,
        },
    )


def after_update(env: Rows, guid: str) -> None:
    """Carry a change of either row over to the other."""
    row = env.find(ENTITY, guid)
    if row is None:
        return
    env.set_system_values(ENTITY, guid, _type_codes(row))
    related = row.get("_relatedconnectionid_value")
    if related and env.find(ENTITY, related) is not None:
        env.set_system_values(ENTITY, related, _mirror(row))


def before_delete(env: Rows, guid: str) -> str | None:
    """The reciprocal to delete along with ``guid`` (None when already gone)."""
    row = env.find(ENTITY, guid)
    related = row.get("_relatedconnectionid_value") if row else None
    return related if related and env.find(ENTITY, related) is not None else None
