"""Inbound fixtures: a web app with four webhook sources and the forms mapping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from app import create_app
from tests.inbound.forms import (
    HMAC_SECRET,
    OTHER_SECRET,
    SECRET,
    SOURCE,
    STRIPE_SECRET,
    source_settings,
    write_mapping,
)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    connections = {
        SOURCE: source_settings(),
        "rotating": {"type": "webhook", "scheme": "standard", "secrets": [SECRET, OTHER_SECRET]},
        "payments": {"type": "webhook", "scheme": "stripe", "secret": STRIPE_SECRET},
        "plain": {"type": "webhook", "scheme": "hmac_sha256", "secret": HMAC_SECRET,
                  "header": "X-Hub-Signature", "rate_per_minute": 2},
        "crm": {"type": "memory"},
    }
    (tmp_path / "connections.yaml").write_text(yaml.safe_dump(connections))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CONNECTIONS": str(tmp_path / "connections.yaml"),
        "MAPPINGS_DIR": str(write_mapping(tmp_path / "mappings")),
    })
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = engine
    yield app
    app.extensions["syncline.inbound"].processor.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


