"""Keeping a Zoom sandbox account across restarts (``--state FILE``, the demo)."""

from __future__ import annotations

from pathlib import Path

from sandboxes.persistence import FORMAT, StateError, read_state, write_json_atomically
from sandboxes.zoom.store import Account

__all__ = ["StateError", "load", "save"]


def save(account: Account, path: Path) -> None:
    """Write webinars, registrants and ended instances atomically."""
    with account.lock:
        data = {
            "format": FORMAT,
            "webinars": list(account.webinars.values()),
            "registrants": {str(k): list(v.values()) for k, v in account.registrants.items()},
            "instances": account.instances,
        }
        write_json_atomically(path, data)


def load(account: Account, path: Path) -> int:
    """Replace the account's data with the file's; returns how many webinars were loaded."""
    data = read_state(path)
    try:
        with account.lock:
            account.reset()
            for webinar in data.get("webinars") or []:
                account.webinars[int(webinar["id"])] = webinar
                account.registrants[int(webinar["id"])] = {}
            for key, rows in (data.get("registrants") or {}).items():
                account.registrants.setdefault(int(key), {}).update({r["id"]: r for r in rows})
            account.instances.update(data.get("instances") or {})
    except (KeyError, TypeError, ValueError) as error:
        raise StateError(f"{path}: malformed Zoom sandbox state ({error})") from error
    return len(account.webinars)
