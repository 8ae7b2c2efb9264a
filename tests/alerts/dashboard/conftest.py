"""The dashboard tests' fixtures (an app on the shared engine, a logged-in admin's browser)."""

from tests.dashboard.conftest import admin, app, client  # noqa: F401 - shared fixtures
