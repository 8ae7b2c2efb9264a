"""What ``describe`` says of the Zoom connector's three objects (fixed: Zoom has no metadata API).

Registrant fields a registration form takes are createable; nothing is updateable, since Zoom
cannot edit a registration. Webinars and people are read-only: webinars are made in Zoom, and
a person is only what their registrations say.
"""

from __future__ import annotations

from connectors.base import FieldInfo, ObjectInfo
from connectors.zoom.attendance import ATTENDED, NO_SHOW, REGISTERED
from connectors.zoom.records import PERSON, REGISTRANT, WEBINAR

#: Zoom's registrant statuses (``status`` of the registrant listing).
APPROVALS = ("approved", "pending", "denied")
#: What a registration form takes besides the webinar: Zoom's request body names.
CREATE_FIELDS = ("webinar_id", "email", "first_name", "last_name", "org", "job_title", "phone",
                 "country", "city", "industry")


def _read_only(name: str, kind: str = "string", **more: object) -> FieldInfo:
    return FieldInfo(name, kind, label=name.replace("_", " ").capitalize(), createable=False,
                     updateable=False, **more)  # type: ignore[arg-type]


def _form(name: str, kind: str = "string", length: int | None = None, **more: object
          ) -> FieldInfo:
    return FieldInfo(name, kind, label=name.replace("_", " ").capitalize(), length=length,
                     updateable=False, **more)  # type: ignore[arg-type]


def _webinar() -> ObjectInfo:
    fields = [
        _read_only("id", "id", nillable=False, unique=True),
        _read_only("uuid"), _read_only("topic", length=200),
        _read_only("type", "integer"),
        _read_only("agenda", "text"),
        _read_only("start_time", "datetime"), _read_only("duration", "integer"),
        _read_only("timezone"), _read_only("join_url", "url"),
        _read_only("created_at", "datetime"),
        _read_only("status", "picklist", picklist_values=("upcoming", "ended"),
                   restricted_picklist=True),
    ]
    return ObjectInfo(WEBINAR, "id", "created_at", {f.name: f for f in fields}, "Webinar")


def _registrant() -> ObjectInfo:
    fields = [
        _read_only("key", "id", nillable=False, unique=True),
        _form("webinar_id", "reference", required=True, nillable=False,
              reference_to=(WEBINAR,)),
        _read_only("registrant_id", "id"),
        # Zoom keeps one registration per email and webinar: registering an email again
        # answers the existing registration, so the email identifies it within its webinar.
        _form("email", "email", 128, required=True, nillable=False, external_id=True),
        _read_only("person", "reference", reference_to=(PERSON,)),
        _form("first_name", length=64, required=True, nillable=False),
        _form("last_name", length=64),
        _form("org"), _form("job_title"), _form("phone", "phone"), _form("country"),
        _form("city"), _form("industry"),
        _read_only("create_time", "datetime"),
        _read_only("approval", "picklist", picklist_values=APPROVALS, restricted_picklist=True),
        _read_only("join_url", "url"),
        _read_only("attendance", "picklist", picklist_values=(REGISTERED, NO_SHOW, ATTENDED),
                   restricted_picklist=True),
        _read_only("attended", "boolean", nillable=False),
        _read_only("first_join_time", "datetime"),
        _read_only("minutes_attended", "integer"),
        _read_only("joins", "integer"),
    ]
    return ObjectInfo(REGISTRANT, "key", "create_time", {f.name: f for f in fields},
                      "Webinar registrant")


def _person() -> ObjectInfo:
    fields = [
        _read_only("email", "email", nillable=False, unique=True),
        _read_only("first_name"), _read_only("last_name"), _read_only("org"),
        _read_only("job_title"), _read_only("phone", "phone"), _read_only("country"),
        _read_only("city"), _read_only("industry"),
        _read_only("last_registered_at", "datetime"),
    ]
    return ObjectInfo(PERSON, "email", "last_registered_at", {f.name: f for f in fields},
                      "Webinar registrant (person)")


OBJECTS: dict[str, ObjectInfo] = {info.name: info for info in (_webinar(), _registrant(),
                                                               _person())}
