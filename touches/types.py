"""The kinds of touch and where a touch came from: one list for the whole product."""

from __future__ import annotations

from enum import StrEnum


class TouchType(StrEnum):
    """What the person did."""

    FORM_FILL = "form_fill"
    WEBINAR_REGISTRATION = "webinar_registration"
    WEBINAR_ATTENDED = "webinar_attended"
    EVENT = "event"
    AD_CLICK = "ad_click"
    EMAIL_CLICK = "email_click"
    WEB_VISIT = "web_visit"
    CONTENT_DOWNLOAD = "content_download"
    SALES_TOUCH = "sales_touch"
    OTHER = "other"


TOUCH_TYPES: tuple[str, ...] = tuple(kind.value for kind in TouchType)


class Origin(StrEnum):
    """What recorded a touch (``touch.origin``); later sources add theirs here."""

    IMPORT = "import"
    CRM_RESPONSE = "crm_response"  # a CRM says the member responded (HasResponded, a response)
    MEMBER_STATUS = "member_status"  # the member reached a success status of its channel
    ACTIVITY = "activity"  # a pulled record's mapping says it stands for one (a form, a webinar)
