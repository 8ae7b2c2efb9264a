"""The account's data: its host, webinars, registrants and what happened when each one ended."""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes.zoom.errors import NO_REGISTRATION, WEBINAR_OVER, ZoomError, validation_failed

#: Registrant fields a registration may carry besides email and names (Zoom's request body).
REGISTRANT_FIELDS = (
    "address", "city", "state", "zip", "country", "phone", "comments", "industry", "job_title",
    "no_of_employees", "org", "purchasing_time_frame", "role_in_purchase_process",
)  # fmt: skip
STATUSES = ("approved", "pending", "denied")
#: ``action`` of ``PUT …/registrants/status`` → the status it leaves (cancel revokes approval).
ACTIONS = {"approve": "approved", "deny": "denied", "cancel": "denied"}


def iso(moment: datetime) -> str:
    """Zoom's timestamps: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, name: str) -> datetime:
    """An ISO-8601 timestamp from a control request (``Z`` or an offset)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise ZoomError(300, f"{name} must be an ISO-8601 time, got {value!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_uuid() -> str:
    """A webinar instance UUID as Zoom writes them: 16 random bytes, base64 (may hold ``/``)."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def _short_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


class Account:
    """One Zoom account with one webinar host; thread-safe (every method holds ``lock``)."""

    def __init__(self, *, host_id: str, host_email: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.host_id = host_id
        self.host_email = host_email
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.webinars: dict[int, dict[str, Any]] = {}
        #: webinar id → registrant id → registrant.
        self.registrants: dict[int, dict[str, dict[str, Any]]] = {}
        #: webinar id → lower-cased email → registrant id (Zoom keeps one registration per email).
        self._emails: dict[int, dict[str, str]] = {}
        #: instance UUID → {"webinar_id", "participants", "absentees", "report_ready"}.
        self.instances: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(81_000_000_001)

    # -- the host's actions (control API) ---------------------------------------------------

    def create_webinar(self, values: dict[str, Any]) -> dict[str, Any]:
        """Schedule a webinar with registration; answers it as ``GET /webinars/{id}`` does."""
        if not str(values.get("topic") or "").strip():
            raise validation_failed(["topic"])
        with self.lock:
            webinar_id = int(values.get("id") or next(self._ids))
            while webinar_id in self.webinars:
                webinar_id = next(self._ids)
            start = parse_time(values.get("start_time") or iso(self.clock()), "start_time")
            approval = int(values.get("approval_type", 0))
            webinar = {
                "uuid": str(values.get("uuid") or new_uuid()),
                "id": webinar_id,
                "host_id": self.host_id,
                "host_email": self.host_email,
                "topic": str(values["topic"])[:200],
                "type": 5,
                "start_time": iso(start),
                "duration": int(values.get("duration", 60)),
                "timezone": str(values.get("timezone") or "UTC"),
                "agenda": str(values.get("agenda") or ""),
                "created_at": iso(self.clock()),
                "join_url": f"https://zoom.us/j/{webinar_id}",
                "registration_url": f"https://zoom.us/webinar/register/WN_{_short_id()}",
                "settings": {"approval_type": approval, "registration_type": 1},
                "status": "waiting",
            }
            self.webinars[webinar_id] = webinar
            self.registrants[webinar_id] = {}
            return dict(webinar)

    def register(self, webinar_id: int, values: dict[str, Any], *,
                 status: str | None = None, create_time: str | None = None) -> dict[str, Any]:
        """Add a registrant (or answer the existing registration of that email)."""
        missing = [name for name in ("email", "first_name") if not str(values.get(name) or "")]
        email = str(values.get("email") or "").strip()
        if email and ("@" not in email or len(email) > 128):
            missing.append("email")
        if missing:
            raise validation_failed(sorted(set(missing)))
        with self.lock:
            webinar = self.webinar(webinar_id)
            if webinar["settings"].get("approval_type") == 2:
                raise ZoomError(NO_REGISTRATION, "This webinar does not have registration as "
                                f"required: {webinar_id}.")
            if webinar["status"] == "ended":
                raise ZoomError(WEBINAR_OVER, "Webinar is over, you cannot register now. If you "
                                "have any questions, contact the webinar host.")
            existing = self.find_registrant(webinar_id, email)
            if existing is not None:
                return existing
            if status is None:
                status = "pending" if webinar["settings"].get("approval_type") == 1 else "approved"
            if status not in STATUSES:
                raise ZoomError(300, f"status must be one of {STATUSES}, got {status!r}")
            registrant_id = _short_id()
            registrant = {
                "id": registrant_id,
                "email": email,
                "first_name": str(values.get("first_name") or "")[:64],
                "last_name": str(values.get("last_name") or "")[:64],
                **{name: str(values[name]) for name in REGISTRANT_FIELDS if values.get(name)},
                "custom_questions": list(values.get("custom_questions") or []),
                "status": status,
                "create_time": iso(parse_time(create_time, "create_time")) if create_time
                else iso(self.clock()),
                "join_url": f"https://zoom.us/w/{webinar_id}?tk={_short_id()}",
            }
            self.registrants[webinar_id][registrant_id] = registrant
            self._emails.setdefault(webinar_id, {})[email.lower()] = registrant_id
            return dict(registrant)

    def update_statuses(self, webinar_id: int, action: str,
                        people: Iterable[dict[str, Any]]) -> None:
        """Approve, deny or cancel registrants named by ``id`` or ``email``."""
        if action not in ACTIONS:
            raise validation_failed(["action"])
        with self.lock:
            self.webinar(webinar_id)
            for person in people:
                found = self.registrants[webinar_id].get(str(person.get("id") or ""))
                if found is None and person.get("email"):
                    found = self._by_email(webinar_id, str(person["email"]))
                if found is not None:
                    found["status"] = ACTIONS[action]

    def end_webinar(self, webinar_id: int, participants: list[dict[str, Any]],
                    absentees: list[str] | None = None, *, report_ready: bool = True
                    ) -> dict[str, Any]:
        """End the webinar: who joined (one row per join) and, unless given, who did not."""
        with self.lock:
            webinar = self.webinar(webinar_id)
            rows = [self._participant_row(webinar_id, joined) for joined in participants]
            attended = {row["user_email"].lower() for row in rows}
            if absentees is None:
                absent_ids = [r["id"] for r in self.registrants[webinar_id].values()
                              if r["status"] == "approved" and r["email"].lower() not in attended]
            else:
                absent_ids = []
                for key in absentees:
                    found = self.registrants[webinar_id].get(key) or self._by_email(webinar_id, key)
                    if found is None:
                        raise ZoomError(300, f"absentee {key!r} is not a registrant")
                    absent_ids.append(found["id"])
            webinar["status"] = "ended"
            self.instances[webinar["uuid"]] = {
                "webinar_id": webinar_id, "participants": rows, "absentees": absent_ids,
                "report_ready": report_ready,
            }
            return {"uuid": webinar["uuid"], "participants": len(rows),
                    "absentees": len(absent_ids), "report_ready": report_ready}

    def _participant_row(self, webinar_id: int, joined: dict[str, Any]) -> dict[str, Any]:
        """A report row for one join; ``registrant_id`` comes from the registrant's email."""
        email = str(joined.get("email") or joined.get("user_email") or "")
        join = parse_time(joined.get("join_time"), "join_time")
        leave = parse_time(joined.get("leave_time") or iso(join + timedelta(minutes=30)),
                           "leave_time")
        registrant = self._by_email(webinar_id, email) if email else None
        name = joined.get("name") or (
            f"{registrant['first_name']} {registrant['last_name']}".strip() if registrant else "")
        stable = hashlib.sha1(email.lower().encode()).hexdigest()[:22] if email else ""
        return {
            "id": stable,
            "user_id": str(16_778_240 + secrets.randbelow(10_000_000)),
            "name": name,
            "user_email": email,
            "join_time": iso(join),
            "leave_time": iso(leave),
            "duration": max(0, int((leave - join).total_seconds())),
            "registrant_id": registrant["id"] if registrant else "",
            "status": "in_meeting",
            "failover": False,
            "customer_key": "",
        }

    # -- lookups ----------------------------------------------------------------------------

    def webinar(self, webinar_id: int) -> dict[str, Any]:
        """The webinar, or Zoom's 3001."""
        with self.lock:
            found = self.webinars.get(webinar_id)
        if found is None:
            raise ZoomError(3001, f"Webinar {webinar_id} not found or has expired.", 404)
        return found

    def find_registrant(self, webinar_id: int, email: str) -> dict[str, Any] | None:
        """A copy of the registrant of ``email`` (case-insensitive), if any."""
        with self.lock:
            found = self._by_email(webinar_id, email)
            return dict(found) if found else None

    def _by_email(self, webinar_id: int, email: str) -> dict[str, Any] | None:
        emails = self._emails.get(webinar_id)
        if emails is None or len(emails) != len(self.registrants.get(webinar_id, {})):
            # Restored from a state file (or edited directly): rebuild the index.
            emails = self._emails[webinar_id] = {
                r["email"].lower(): rid for rid, r in self.registrants.get(webinar_id, {}).items()
            }
        registrant_id = emails.get(email.strip().lower())
        return self.registrants.get(webinar_id, {}).get(registrant_id) if registrant_id else None

    def instance(self, key: str) -> dict[str, Any] | None:
        """The ended instance of a UUID, or of a webinar id (its latest instance)."""
        with self.lock:
            if key in self.instances:
                return self.instances[key]
            if key.isdigit() and int(key) in self.webinars:
                return self.instances.get(self.webinars[int(key)]["uuid"])
            return None

    def reset(self) -> None:
        """Forget every webinar."""
        with self.lock:
            self.webinars.clear()
            self.registrants.clear()
            self._emails.clear()
            self.instances.clear()
