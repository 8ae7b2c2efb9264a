"""A website-forms source and the minimal forms mapping the inbound tests process with."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import yaml
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from connectors.config import Connections
from core.clock import utcnow
from core.hubschema import HubSchema
from inbound.inbox import event_id_for, store
from inbound.signatures import sign
from jobs.engine import SyncContext
from mappings.loader import load_mappings

SOURCE = "website-forms"
#: A Standard Webhooks secret (whsec_ + base64 of the key bytes) and a second one (rotation).
SECRET = "whsec_" + base64.b64encode(b"forms-test-key-number-one-32byte").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"forms-test-key-number-two-32byte").decode()
STRIPE_SECRET = "whsec_stripe-test-secret"
HMAC_SECRET = "hmac-test-secret"

FORMS_MAPPING: dict[str, Any] = {
    "name": "website-forms-person",
    "connection": SOURCE,
    "hub_object": "person",
    "remote_object": "submission",
    "direction": "to_hub",
    "schedule": "1h",
    "identity": {"match": ["email"]},
    "create": {"hub": True, "remote": False},
    # A value the hub cannot hold fails its submission whole (an error to replay), rather
    # than making a person without it.
    "on_field_error": "fail_record",
    "fields": [
        {"hub": "email", "remote": "email", "transform": ["strip", "lower"]},
        {"hub": "first_name", "remote": "first_name"},
        {"hub": "last_name", "remote": "last_name"},
    ],
}


def source_settings(**extra: Any) -> dict[str, Any]:
    """The connections-file entry of the forms source."""
    return {"type": "webhook", "scheme": "standard", "secret": SECRET, **extra}


def write_mapping(folder: Path) -> Path:
    """The forms mapping file in ``folder`` (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{FORMS_MAPPING['name']}.yaml").write_text(yaml.safe_dump(FORMS_MAPPING))
    return folder


def context(engine: Engine, folder: Path, **settings: Any) -> SyncContext:
    """A sync context with the forms mapping and the source on ``engine``."""
    connections = Connections.from_dict({SOURCE: {**source_settings(**settings), "engine": engine}})
    mappings = load_mappings(write_mapping(folder / "mappings"), hub_schema=HubSchema.standard(),
                             connections={SOURCE: connections.get(SOURCE)})
    return SyncContext(engine, mappings, HubSchema.standard(), connections.build)


def submit(engine: Engine, body: dict[str, Any] | bytes, *, content_type: str = "application/json",
           event_id: str | None = None) -> int:
    """Store one request as the route would; returns its inbox id."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with Session(engine) as session:
        stored = store(session, SOURCE, event_id_for(event_id, raw), raw, content_type, utcnow())
        session.commit()
    return stored.id


def people(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Hub people by email: (first name, last name)."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT email, first_name, last_name FROM person"))
        return {row[0]: (row[1], row[2]) for row in rows}


def post(
    client: FlaskClient, body: dict[str, Any] | bytes, *, source: str = SOURCE,
    scheme: str = "standard", secret: str = SECRET, event_id: str = "msg_1",
    stamp: int | None = None, content_type: str = "application/json",
    header: str = "X-Signature",
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = sign(scheme, secret, raw, event_id=event_id,  # type: ignore[arg-type]
                   timestamp=int(time.time()) if stamp is None else stamp, header=header)
    return client.post(f"/hooks/{source}", data=raw, headers=headers, content_type=content_type)
