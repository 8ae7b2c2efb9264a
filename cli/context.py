"""What every command needs, loaded lazily and checked once: database, schema, connections."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import click
from sqlalchemy.engine import Engine

import mappings as mappings_package
from attribution.config import AttributionSettings
from attribution.engine import settings_in
from connectors.base import Connector
from connectors.config import Connections, load_connections
from core.db import check_connection, database_url, make_engine, require_schema
from core.errors import InputError, InputErrors
from core.hubschema import HubSchema
from jobs.engine import SyncContext
from jobs.live import LiveConfig
from lifecycle.loader import lifecycle_path, load_lifecycle
from lifecycle.spec import Lifecycle
from mappings.loader import load_mappings
from mappings.spec import Mapping
from scoring.loader import load_scoring, scoring_path
from scoring.spec import Scoring
from touches.programs import Programs, load_programs, programs_path

#: Where the connections file is looked for when --config and SYNCLINE_CONFIG are not given.
CONFIG_CANDIDATES = ("connections.yaml", "instance/connections.yaml")


def default_mappings_dir() -> Path:
    """``./mappings`` when run from a checkout, else the mapping files shipped with the package."""
    local = Path("mappings")
    if local.is_dir() and any(local.glob("*.yaml")):
        return local
    return Path(mappings_package.__file__).parent


@dataclass
class App:
    """The command line's view of one Syncline installation."""

    config_path: str | None = None
    mappings_dir: Path = field(default_factory=default_mappings_dir)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def interactive(self) -> bool:
        """True when a person is watching (progress bars, colour, tables)."""
        return sys.stderr.isatty() and not os.environ.get("CI")

    def resolve_config(self) -> Path:
        """The connections file in use, or an InputError saying how to make one."""
        if self.config_path:
            return Path(self.config_path)
        for candidate in CONFIG_CANDIDATES:
            if Path(candidate).exists():
                return Path(candidate)
        raise InputError(
            "connections.yaml",
            "file not found: copy connections.example.yaml to connections.yaml (or pass "
            "--config FILE), or run `syncline demo` to create a demo setup",
        )

    @cached_property
    def engine(self) -> Engine:
        """The hub database, reachable and at the current schema version."""
        engine = make_engine(database_url())
        check_connection(engine)
        require_schema(engine)
        return engine

    def raw_engine(self) -> Engine:
        """The hub database, reachable (a new SQLite file is made), any schema (for ``init``)."""
        engine = make_engine(database_url())
        check_connection(engine, create=True)
        return engine

    @cached_property
    def schema(self) -> HubSchema:
        """Standard hub fields plus the custom ones in ``<mappings>/hub.yaml``."""
        return HubSchema.load(self.mappings_dir / "hub.yaml")

    @cached_property
    def programs(self) -> Programs:
        """Channels, member statuses and UTM aliases (``<mappings>/programs.yaml``; none: empty)."""
        return load_programs(programs_path(self.mappings_dir))

    @cached_property
    def attribution(self) -> AttributionSettings:
        """The attribution models (``<mappings>/attribution.yaml``; none: every default)."""
        return settings_in(self.mappings_dir)

    @cached_property
    def scoring(self) -> Scoring | None:
        """The scoring rules (``<mappings>/scoring.yaml``; None when there is no such file)."""
        path = scoring_path(self.mappings_dir)
        return load_scoring(path, hub_schema=self.schema) if path.is_file() else None

    @cached_property
    def lifecycle(self) -> Lifecycle | None:
        """Stages and the AQL rule (``<mappings>/lifecycle.yaml``; None when there is none)."""
        return load_lifecycle(lifecycle_path(self.mappings_dir), hub_schema=self.schema)

    @cached_property
    def connections(self) -> Connections:
        """The parsed connections file (``${VAR}`` substituted, secrets registered to redact)."""
        return load_connections(self.resolve_config())

    @cached_property
    def mappings(self) -> dict[str, Mapping]:
        """Every mapping file, validated against the hub schema and the connection names."""
        if not self.mappings_dir.is_dir():
            raise InputError(str(self.mappings_dir), "mappings directory not found")
        names = {name: self.connections.get(name) for name in self.connections.names}
        loaded = load_mappings(self.mappings_dir, hub_schema=self.schema, connections=names)
        if not loaded:  # almost always a wrong --mappings folder: say so rather than do nothing
            raise InputError(str(self.mappings_dir), "no mapping files (*.yaml besides hub.yaml)")
        return loaded

    def connect(self, name: str) -> Connector:
        """A fresh connector for a connection name."""
        return self.connections.build(name)

    def sync_context(self) -> SyncContext:
        """Everything the engine needs, all checked up front (so bad input fails before any write).

        Each connection a mapping uses is built once here (no remote call is made): a bad
        setting is an input error now, not a failed run later.
        """
        loaded = self.mappings
        for name in sorted({m.connection for m in loaded.values()}):
            self.connect(name).close()
        return SyncContext(
            self.engine, loaded, self.schema, self.connect, self.stopping, self.programs,
            self.attribution, self.scoring, self.lifecycle,
        )

    def live_config(self) -> LiveConfig:
        """The files as a long-running process follows them (``syncline scheduler``).

        One broken mapping file stops only its own mappings, so the service starts anyway;
        it refuses to start (exit 2) only when no mapping at all could run.
        """
        if not self.mappings_dir.is_dir():
            raise InputError(str(self.mappings_dir), "mappings directory not found")
        live = LiveConfig(self.engine, self.mappings_dir, self.resolve_config(), self.stopping)
        workspace = live.snapshot().workspace
        if not workspace.runnable:
            problems = [p for found in workspace.stopped.values() for p in found]
            if problems:
                raise InputErrors(list({str(p): p for p in problems}.values()))
            raise InputError(str(self.mappings_dir), "no mapping files (*.yaml besides hub.yaml)")
        for name in sorted({m.connection for m in workspace.runnable.values()}):
            live.current().connect(name).close()  # a bad setting fails now, not a run later
        return live


pass_app = click.make_pass_decorator(App)
