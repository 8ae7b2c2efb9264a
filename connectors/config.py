"""The connections file: each remote system's name, type and settings, secrets from the env.

    crm:
      type: salesforce
      instance_url: https://example.my.salesforce.com
      client_secret: ${SF_CLIENT_SECRET}
      api_version: ${SF_API_VERSION:-59.0}

Each entry's settings are checked against its connector type's pydantic model
(:mod:`connectors.settings`) when it is built, with every problem named ``file:line key.path``
as in a mapping file. Every secret (a key the connector declares in ``secret_keys``, or any
key named like a password, secret, token or private key) is registered with the redactor as
the file is read, so it never reaches a log line, an error message or the dashboard.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors import REGISTRY, build_connector, connector_class
from connectors.base import Connector
from connectors.errors import ConnectorError, ErrorKind
from connectors.settings import ConnectionSettings, settings_problems
from core.errors import InputError, InputErrors
from core.redaction import redact
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml_file

#: Keys holding secrets whatever the connector says; "token_url" and the like are addresses.
SECRET_KEY = re.compile(r"password|passwd|secret|token|api_key|apikey|private_key", re.IGNORECASE)
_NOT_SECRET_SUFFIXES = ("_url", "_uri", "_file", "_path")
#: Settings naming who authenticates with a secret of the same entry.
IDENTITY_KEYS = ("client_id", "username")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def is_secret_key(key: str, declared: frozenset[str] = frozenset()) -> bool:
    """Tell whether a setting's value is a secret, by the connector's word or by its name."""
    if key in declared:
        return True
    return bool(SECRET_KEY.search(key)) and not key.lower().endswith(_NOT_SECRET_SUFFIXES)


class Connections:
    """The parsed connections file: settings by connection name, and connectors built from them.

    Values are checked and ``${VAR}`` / ``${VAR:-default}`` substituted when the file is
    loaded, so a missing variable is reported at once with its file and line.
    """

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, Any]],
        *,
        source: str = "<connections>",
        lines: Mapping[KeyPath, int] | None = None,
    ) -> None:
        self._entries = {name: dict(entry) for name, entry in entries.items()}
        self.source = source
        self._lines = dict(lines or {})

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "<connections>",
        env: Mapping[str, str] | None = None,
    ) -> Connections:
        """Check and substitute in-code settings (tests, the demo) exactly like a file's."""
        return _parse(data, source, {}, os.environ if env is None else env)

    @property
    def names(self) -> list[str]:
        """Connection names in file order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def where(self, *path: str | int) -> str:
        """Name a place for an error message: ``connections.yaml:12 crm.type``."""
        return _where(self.source, self._lines, tuple(path))

    def get(self, name: str) -> dict[str, Any]:
        """Return one connection's settings (a copy); an unknown name is an InputError."""
        if name not in self._entries:
            known = ", ".join(self._entries) or "none"
            raise InputError(self.source, f"no connection named {name!r} (known: {known})")
        return dict(self._entries[name])

    def check(self, name: str) -> ConnectionSettings:
        """``name``'s settings checked against its type's model, or every problem in them.

        Each problem is an InputError naming ``file:line name.key.path``, the way a mapping
        file's are named; together they raise as one InputErrors.
        """
        config = self.get(name)
        model = connector_class(str(config.get("type"))).settings_model
        try:
            return model.model_validate(config)
        except ValidationError as exc:
            found = [
                InputError(self.where(name, *path), redact(message))
                for path, message in settings_problems(model, config, exc)
            ]
        raise InputErrors(found)

    def build(self, name: str) -> Connector:
        """Instantiate the connector for ``name``; bad settings become an InputError."""
        self.check(name)
        config = self.get(name)
        try:
            return build_connector(name, config)
        except ConnectorError as exc:
            if exc.kind is not ErrorKind.CONFIG:
                raise
            raise InputError(self.where(name), redact(exc.message)) from None

    def __repr__(self) -> str:
        return f"<Connections {self.source} {self.names}>"


def load_connections(
    path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> Connections:
    """Read and check a connections file; every problem is an InputError naming file:line."""
    data, lines = load_yaml_file(Path(path))
    return _parse(data, display_path(Path(path)), lines, os.environ if env is None else env)


def _where(source: str, lines: Mapping[KeyPath, int], path: KeyPath) -> str:
    line = line_of(dict(lines), path) if lines else None
    place = f"{source}:{line}" if line else source
    return f"{place} {format_path(path)}" if path else place


def _parse(
    data: Any, source: str, lines: Mapping[KeyPath, int], env: Mapping[str, str]
) -> Connections:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InputError(_where(source, lines, ()), "expected connection names, each with settings")
    entries: dict[str, dict[str, Any]] = {}
    known = ", ".join(sorted(REGISTRY))
    for name, entry in data.items():
        if not isinstance(name, str) or not name:
            raise InputError(_where(source, lines, (str(name),)), "a connection name must be text")
        if not isinstance(entry, Mapping):
            raise InputError(
                _where(source, lines, (name,)), f"expected settings with a 'type' (one of {known})"
            )
        type_name = entry.get("type")
        if type_name is None:
            raise InputError(_where(source, lines, (name,)), f"missing 'type' (one of {known})")
        if type_name not in REGISTRY:
            raise InputError(
                _where(source, lines, (name, "type")),
                f"unknown connector type {type_name!r} (known: {known})",
            )
        settings = substitute(entry, (name,), source, lines, env)
        register_secrets(settings, connector_class(str(type_name)).secret_keys)
        entries[name] = settings
    return Connections(entries, source=source, lines=lines)


def substitute(
    value: Any, path: KeyPath, source: str, lines: Mapping[KeyPath, int], env: Mapping[str, str]
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of ``value`` (found at ``path``).

    ``${VAR:-default}`` takes the default when VAR is unset or empty, as a shell does. An
    unset variable without a default is an InputError naming ``source:line path``. The
    alerts file's channels use this too, so both files read the environment the same way.
    """
    if isinstance(value, str):
        def variable(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if default is not None:  # as in a shell: the default also stands in for ""
                return env.get(name) or default
            if name in env:
                return env[name]
            raise InputError(
                _where(source, lines, path), f"environment variable {name} is not set"
            )

        return _VARIABLE.sub(variable, value)
    if isinstance(value, Mapping):
        return {k: substitute(v, (*path, k), source, lines, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, (*path, i), source, lines, env) for i, v in enumerate(value)]
    return value


def register_secrets(settings: Mapping[str, Any], declared: frozenset[str]) -> None:
    """Register every secret value of ``settings`` (declared keys, or named like one).

    With a ``client_id`` or ``username`` beside it, a secret also travels as HTTP Basic
    ``base64(id:secret)``, which the secret's own base64 does not reveal: that is registered too.
    """
    found: list[str] = []
    for key, value in settings.items():
        if isinstance(value, Mapping):
            register_secrets(value, frozenset())
        elif isinstance(key, str) and is_secret_key(key, declared) and value is not None:
            # A list of secrets (a webhook source's, while one is rotated): each one.
            found += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    redact.add(found)
    for key in IDENTITY_KEYS:
        if settings.get(key):
            for secret in found:
                redact.add_basic(str(settings[key]), secret)
