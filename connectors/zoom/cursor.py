"""The registrant and person cursors: what was read of each webinar, as a compact JSON string.

``{"v": 1, "t": "<read time>", "final": [webinar ids], "d": {webinar id: digest}}``:

- ``final``: webinars whose report was read; their attendance is final and their registrants
  are never read again (kept only while the webinar is still within ``recent_days``);
- ``d``: for each webinar still read, a digest of its registrants' versions at the last read:
  a webinar whose digest is unchanged emits nothing, so an idle cycle hands the engine nothing;
- ``t``: registrant cursors: when the read started; person cursors: the latest registration
  time seen (Zoom's clock), with ``h``, a digest of the registrations made in that second, so
  a person read picks up registrations made since without repeating the last second's.

The cursor of a read cut short is never stored (only the last page carries one), so a digest
always stands for registrants the engine was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from connectors.errors import ConnectorError, ErrorKind
from connectors.zoom.times import iso, parse_time

VERSION = 1


@dataclass(slots=True)
class ReadState:
    """A registrant or person cursor, decoded; ``since`` None is a fresh state (a full read)."""

    time: datetime | None = None
    final: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)
    #: Person cursors: the digest of the registrations made at ``time`` exactly.
    mark: str | None = None

    @property
    def full(self) -> bool:
        """True for a read from scratch (``since`` None)."""
        return self.time is None

    def encode(self) -> str:
        """The cursor string (sorted, so equal states give equal cursors)."""
        body: dict = {"v": VERSION, "t": iso(self.time),
                      "final": sorted(self.final, key=_id_order),
                      "d": dict(sorted(self.digests.items(), key=lambda item: _id_order(item[0])))}
        if self.mark is not None:
            body["h"] = self.mark
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> ReadState:
        """A stored cursor; one this connector never wrote is a CONFIG error."""
        if cursor is None:
            return cls()
        try:
            body = json.loads(cursor)
            if not isinstance(body, dict) or body.get("v") != VERSION:
                raise ValueError("not a Zoom cursor")
            when = parse_time(body["t"])
            if when is None:
                raise ValueError("no read time")
            return cls(when, {str(x) for x in body.get("final") or ()},
                       {str(k): str(v) for k, v in (body.get("d") or {}).items()},
                       str(body["h"]) if body.get("h") else None)
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(
                ErrorKind.CONFIG, "the stored cursor is not one of the Zoom connector's",
                hint="reset the mapping's cursor to read everything again") from None


def _id_order(webinar_id: str) -> tuple[int, str]:
    return (len(webinar_id), webinar_id)
