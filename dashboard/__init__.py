"""The web dashboard: one blueprint whose pages live in a module (or folder) per concept."""

from __future__ import annotations

import importlib

from flask import Flask

#: Importing a page module registers its routes on the shared blueprint.
PAGE_MODULES = (
    "dashboard.auth.guard",
    "dashboard.auth.views",
    "dashboard.auth.account_pages",
    "dashboard.overview",
    "dashboard.runs",
    "dashboard.errors.views",
    "dashboard.mappings.views",
    "dashboard.mappings.resync",
    "dashboard.connections",
    "dashboard.inbound",
    "dashboard.records",
    "dashboard.record_history",
    "dashboard.health",
    "dashboard.attribution.views",
    "dashboard.scoring",
)


def register(app: Flask) -> None:
    """Load every page module, then attach the blueprint to ``app``."""
    from dashboard.blueprint import bp

    for name in PAGE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Pages still being written are skipped, never half-registered.
            if exc.name != name:
                raise
    app.register_blueprint(bp)
