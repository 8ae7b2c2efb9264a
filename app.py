"""The Flask application factory: configuration, one database engine and the dashboard."""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, Response

from core.db import database_url, make_engine

#: Sent on every response. The pages load nothing from elsewhere and use no inline script or
#: style, so the strictest CSP costs nothing and contains any escaping bug we might still have.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app: defaults, instance/config.py, test config, then SYNCLINE_* env vars."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # A random per-process key is safe for a read-only dashboard (sessions just reset on
        # restart); set SYNCLINE_SECRET_KEY once forms and logins arrive.
        SECRET_KEY=os.environ.get("SYNCLINE_SECRET_KEY") or secrets.token_hex(32),
        DATABASE_URL=database_url(),
        MAPPINGS_DIR="mappings",
        CONNECTIONS="connections.yaml",
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config is not None:
        app.config.from_mapping(test_config)
    # Environment last, so a deployment can override anything without editing files.
    app.config.from_prefixed_env("SYNCLINE")

    # One engine (and so one connection pool) per app; requests borrow sessions from it.
    app.extensions["syncline.engine"] = make_engine(app.config["DATABASE_URL"])

    from dashboard import views

    app.register_blueprint(views.bp)
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
