"""The CLI tests' fixtures (own working directory and database, a ``syncline`` runner)."""

from tests.cli.conftest import _isolated, project, syncline  # noqa: F401 - shared fixtures
