"""The alerts file (``mappings/alerts.yaml``): channels and rules, checked as ``file:line`` errors.

    channels:
      ops-email: {type: email, host: smtp.example.com, from: a@x.com, to: ops@x.com,
                  username: ${SMTP_USER}, password: ${SMTP_PASSWORD}}
    rules:
      - {name: errors-rising, condition: errors_rising, rise: 10, within: 15m,
         channels: [ops-email]}

Channels are configured like connections: ``${VAR}`` / ``${VAR:-default}`` come from the
environment, and secret values (the SMTP password, the webhook URL) are registered with the
redactor as the file is read. A disabled channel may leave its settings blank, so a shipped
example validates on a machine without mail settings. Every problem in the file is reported
at once, each as ``file:line path: message``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alerts.channels import DEFAULT_TIMEOUT, Channel, EmailChannel, WebhookChannel
from alerts.messages import format_span
from connectors.config import register_secrets, substitute
from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url, is_loopback
from core.errors import InputError, InputErrors
from core.redaction import redact
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml, load_yaml_file
from jobs import failures, pull, push
from mappings.schedule import parse_schedule

#: The alerts file's name in the mappings folder (mappings.loader reserves it).
ALERTS_FILE = "alerts.yaml"

_KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")
#: Where an error may have happened, as sync_error.direction spells it.
DIRECTIONS = (pull.DIRECTION, push.DIRECTION, failures.JOB_DIRECTION)
_MAX_RUNS = 100
_MAX_TIMEOUT = 300


class Condition(StrEnum):
    """What a rule watches."""

    ERRORS_RISING = "errors_rising"  # open errors of a mapping (or cause) grew by N in M
    FAILING_RUNS = "failing_runs"  # the last K runs of a mapping all failed
    STALE = "stale"  # no successful run of a mapping for T
    API_USAGE = "api_usage"  # a connection used X % of its API allowance
    PAUSED = "paused"  # the latest run paused (API budget)
    BRAKED = "braked"  # the latest run hit the mass-change brake

    @property
    def about(self) -> str:
        """What its subjects are: mappings, or connections for api_usage."""
        return "connection" if self is Condition.API_USAGE else "mapping"


#: Keys each condition takes besides name, condition, channels and enabled; required ones first.
_KEYS: dict[Condition, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Condition.ERRORS_RISING: (("rise", "within"), ("mapping", "cause")),
    Condition.FAILING_RUNS: (("runs",), ("mapping",)),
    Condition.STALE: (("after",), ("mapping",)),
    Condition.API_USAGE: (("above",), ("connection",)),
    Condition.PAUSED: ((), ("mapping",)),
    Condition.BRAKED: ((), ("mapping",)),
}
_COMMON_KEYS = ("name", "condition", "channels", "enabled")
_CAUSE_KEYS = ("code", "field", "kind", "direction")
_EMAIL_KEYS = (
    "type", "enabled", "host", "port", "starttls", "username", "password", "from", "to",
    "timeout", "ca_file",
)
_WEBHOOK_KEYS = ("type", "enabled", "url", "timeout")
_TOP_KEYS = ("channels", "rules", "dashboard_url")


@dataclass(frozen=True, slots=True)
class CauseFilter:
    """Errors of one cause: any of error code, field, kind and direction."""

    code: str | None = None
    field: str | None = None
    kind: str | None = None
    direction: str | None = None

    def describe(self) -> str:
        """``code REQUIRED_FIELD_MISSING on Phone``: the cause in a few words."""
        parts = [f"code {self.code}" if self.code else "", f"kind {self.kind}" if self.kind else ""]
        text = " ".join(p for p in parts if p) or "errors"
        if self.field:
            text += f" on {self.field}"
        if self.direction:
            text += f" ({self.direction})"
        return text


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule: a condition, its threshold, what it watches and where it is sent."""

    name: str
    condition: Condition
    channels: tuple[str, ...] = ()
    enabled: bool = True
    #: The subjects named in the file (mappings, or connections for api_usage); empty = all.
    subjects: tuple[str, ...] = ()
    cause: CauseFilter | None = None
    rise: int = 0
    within: timedelta = timedelta(0)
    runs: int = 0
    after: timedelta = timedelta(0)
    above: float = 0.0  # a share of the allowance, 0 < above <= 1
    line: int = 0

    @property
    def threshold(self) -> str:
        """When the rule fires, in words: ``open errors rise by 10 within 15 min``."""
        errors = f"open errors ({self.cause.describe()})" if self.cause else "open errors"
        return {
            Condition.ERRORS_RISING: f"{errors} rise by {self.rise} within "
            f"{format_span(self.within)}",
            Condition.FAILING_RUNS: f"{self.runs} runs in a row fail",
            Condition.STALE: f"no run succeeds for {format_span(self.after)}",
            Condition.API_USAGE: f"API usage reaches {self.above:.0%} of the allowance",
            Condition.PAUSED: "the latest run paused",
            Condition.BRAKED: "the latest run hit the mass-change brake",
        }[self.condition]


@dataclass(frozen=True)
class AlertRules:
    """The loaded alerts file."""

    source: str
    rules: tuple[Rule, ...] = ()
    channels: dict[str, Channel] = field(default_factory=dict)
    dashboard_url: str | None = None

    def rule_channels(self, rule: Rule) -> list[Channel]:
        """The enabled channels a rule sends to."""
        return [self.channels[n] for n in rule.channels if self.channels[n].enabled]


def alerts_path(mappings_dir: str | os.PathLike[str]) -> Path:
    """Where the alerts file of a mappings folder is."""
    return Path(mappings_dir) / ALERTS_FILE


def load_alerts(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    mappings: Collection[str] | None = None,
    connections: Collection[str] | None = None,
) -> AlertRules:
    """Read and check an alerts file; InputErrors lists every problem as ``file:line path``.

    ``mappings`` and ``connections`` (names), when given, are what rules may refer to.
    """
    data, lines = load_yaml_file(Path(path))
    return _Parser(display_path(Path(path)), data, lines, env, mappings, connections).parse()


def parse_alerts(
    text: str,
    source: str,
    *,
    env: Mapping[str, str] | None = None,
    mappings: Collection[str] | None = None,
    connections: Collection[str] | None = None,
) -> AlertRules:
    """Check alerts YAML given as text (the dashboard, tests) exactly as a file is checked."""
    data, lines = load_yaml(text, source)
    return _Parser(source, data, lines, env, mappings, connections).parse()


class _Parser:
    """Checks one alerts document, collecting every problem before raising them together."""

    def __init__(
        self,
        source: str,
        data: Any,
        lines: dict[KeyPath, int],
        env: Mapping[str, str] | None,
        mappings: Collection[str] | None,
        connections: Collection[str] | None,
    ) -> None:
        self.source = source
        self.data = data
        self.lines = lines
        self.env = os.environ if env is None else env
        #: Names rules may refer to, by noun (None: not checked).
        self.known: dict[str, Collection[str] | None] = {
            "mapping": mappings, "connection": connections
        }
        self.labels: dict[int, str] = {}
        self.channel_names: set[str] = set()
        self.known["channel"] = self.channel_names
        self.found: list[tuple[int, InputError]] = []

    # -- reporting -------------------------------------------------------------------------------

    def where(self, path: KeyPath) -> str:
        """``file:line path``, rules named by their name: ``rules.errors-rising.within``."""
        line = line_of(self.lines, path) if self.lines else None
        place = f"{self.source}:{line}" if line else self.source
        label = format_path(path)
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
            rest = format_path(path[2:])
            label = self.labels.get(path[1], f"rules[{path[1]}]")
            label += (rest if rest.startswith("[") else f".{rest}") if rest else ""
        return f"{place} {label}" if label else place

    def error(self, path: KeyPath, message: str) -> None:
        """Record a problem at ``path``."""
        line = (line_of(self.lines, path) if self.lines else None) or 0
        self.found.append((line, InputError(self.where(path), message)))

    # -- the document ----------------------------------------------------------------------------

    def parse(self) -> AlertRules:
        """The checked rules and channels, or InputErrors naming every problem."""
        data = {} if self.data is None else self.data
        if not isinstance(data, dict):
            self.error((), "expected a mapping with channels: and rules:")
            data = {}
        for key in data:
            if key not in _TOP_KEYS:
                self.error((key,), f"unknown key {key!r} (known: {', '.join(_TOP_KEYS)})")
        channels = self._channels(data.get("channels"))
        dashboard_url = self._dashboard_url(data.get("dashboard_url"))
        rules = self._rules(data.get("rules"))
        if self.found:
            raise InputErrors([error for _, error in sorted(self.found, key=lambda f: f[0])])
        return AlertRules(self.source, tuple(rules), channels, dashboard_url)

    def _dashboard_url(self, value: Any) -> str | None:
        if value is None:
            return None
        try:
            value = substitute(value, ("dashboard_url",), self.source, self.lines, self.env)
        except InputError as exc:
            self.found.append((self._line(("dashboard_url",)), exc))
            return None
        if value == "":
            return None
        if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
            self.error(("dashboard_url",), "expected the dashboard's address, http(s)://host:port")
            return None
        return value.rstrip("/")

    # -- channels --------------------------------------------------------------------------------

    def _channels(self, value: Any) -> dict[str, Channel]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(("channels",), "expected channel names, each with type: email or webhook")
            return {}
        channels: dict[str, Channel] = {}
        for name, entry in value.items():
            path: KeyPath = ("channels", name)
            if not isinstance(name, str) or not name:
                # YAML reads on, off, yes, no and numbers as other types.
                shown = str(name).lower() if isinstance(name, bool) else name
                self.error(("channels",), f"channel name {shown} must be text: quote it "
                           f"('{shown}': ...)")
                continue
            self.channel_names.add(name)  # rules may name it even if its settings are wrong
            if not isinstance(entry, dict):
                self.error(path, "expected settings with a type (email or webhook)")
                continue
            channel = self._channel(name, entry, path)
            if channel is not None:
                channels[name] = channel
        return channels

    def _channel(self, name: str, entry: dict[str, Any], path: KeyPath) -> Channel | None:
        kind = entry.get("type")
        if kind not in (EmailChannel.type, WebhookChannel.type):
            at = (*path, "type") if "type" in entry else path
            self.error(at, "required: type: email or type: webhook" if kind is None
                       else f"{kind!r} is not a channel type (allowed: email, webhook)")
            return None
        keys = _EMAIL_KEYS if kind == EmailChannel.type else _WEBHOOK_KEYS
        for key in entry:
            if key not in keys:
                self.error((*path, key), f"unknown key {key!r} for a {kind} channel "
                           f"(known: {', '.join(keys)})")
        settings = self._substituted(entry, path)
        if settings is None:
            return None
        enabled = settings["enabled"] is not False
        declared = frozenset({"password"} if kind == EmailChannel.type else {"url"})
        _register_secrets(settings, declared)
        if kind == EmailChannel.type:
            return self._email(name, settings, path, enabled)
        return self._webhook(name, settings, path, enabled)

    def _substituted(self, entry: dict[str, Any], path: KeyPath) -> dict[str, Any] | None:
        """A channel's settings with ``${VAR}`` replaced; ``enabled`` read first, as a bool.

        A disabled channel may name variables this machine does not set: they read as blank.
        """
        def read(key: str, value: Any) -> Any:
            return substitute(value, (*path, key), self.source, self.lines, self.env)

        try:
            enabled = self._bool(read("enabled", entry.get("enabled", True)), (*path, "enabled"))
        except InputError as exc:
            self.found.append((self._line((*path, "enabled")), exc))
            return None
        settings: dict[str, Any] = {"enabled": enabled}
        complete = True
        for key, value in entry.items():
            if key == "enabled":
                continue
            try:
                settings[key] = read(key, value)
            except InputError as exc:
                if enabled is not False:
                    self.found.append((self._line((*path, key)), exc))
                    complete = False
                settings[key] = ""
        return settings if complete else None

    def _email(
        self, name: str, s: dict[str, Any], path: KeyPath, enabled: bool
    ) -> EmailChannel | None:
        errors_before = len(self.found)
        host = self._text(s.get("host"), (*path, "host"), required=enabled)
        sender = self._address(s.get("from"), (*path, "from"), required=enabled)
        recipients = self._addresses(s.get("to"), (*path, "to"), required=enabled)
        port = self._int(s.get("port", 587), (*path, "port"), 1, 65_535)
        starttls = self._bool(s.get("starttls", True), (*path, "starttls"))
        username = self._text(s.get("username"), (*path, "username"))
        password = self._text(s.get("password"), (*path, "password"))
        timeout = self._timeout(s.get("timeout", DEFAULT_TIMEOUT), (*path, "timeout"))
        ca_file = self._text(s.get("ca_file"), (*path, "ca_file"))
        if bool(username) != bool(password) and enabled:
            missing = "password" if username else "username"
            self.error((*path, missing), f"required with {'username' if username else 'password'}"
                       " (the relay's login needs both)")
        if password and starttls is False and host and not is_loopback(host):
            self.error((*path, "starttls"), "the password would cross the network in clear "
                       "text: set starttls: true (or use a relay on localhost)")
        if ca_file and enabled and not Path(ca_file).is_file():
            self.error((*path, "ca_file"), f"file not found: {ca_file}")
        if len(self.found) > errors_before:
            return None
        return EmailChannel(
            name=name, host=host or "", sender=sender or "", recipients=tuple(recipients),
            port=port or 587, starttls=starttls is not False, username=username or None,
            password=password or None, timeout=timeout or DEFAULT_TIMEOUT,
            ca_file=ca_file or None, enabled=enabled,
        )

    def _webhook(
        self, name: str, s: dict[str, Any], path: KeyPath, enabled: bool
    ) -> WebhookChannel | None:
        errors_before = len(self.found)
        url = self._text(s.get("url"), (*path, "url"), required=enabled)
        if url:
            try:
                check_url(url)
            except ConnectorError as exc:
                self.error((*path, "url"), exc.message)
        timeout = self._timeout(s.get("timeout", DEFAULT_TIMEOUT), (*path, "timeout"))
        if len(self.found) > errors_before:
            return None
        return WebhookChannel(name, url or "", timeout or DEFAULT_TIMEOUT, enabled)

    # -- rules -----------------------------------------------------------------------------------

    def _rules(self, value: Any) -> list[Rule]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(("rules",), "expected a list of rules (- name: ..., condition: ...)")
            return []
        names = [e.get("name") if isinstance(e, dict) else None for e in value]
        for index, name in enumerate(names):
            if isinstance(name, str) and names.count(name) == 1:
                self.labels[index] = f"rules.{name}"
        rules: list[Rule] = []
        first: dict[str, int] = {}
        for index, entry in enumerate(value):
            name = names[index]
            if isinstance(name, str) and name in first:
                line = self._line(("rules", first[name], "name"))
                self.error(("rules", index, "name"),
                           f"rule {name!r} is already defined at line {line}")
            elif isinstance(name, str):
                first[name] = index
            rule = self._rule(entry, ("rules", index))
            if rule is not None:
                rules.append(rule)
        return rules

    def _rule(self, entry: Any, path: KeyPath) -> Rule | None:
        if not isinstance(entry, dict):
            self.error(path, "expected a rule: name, condition and its settings")
            return None
        errors_before = len(self.found)
        name = entry.get("name")
        if name is None:
            self.error(path, "missing 'name'")
        elif not isinstance(name, str) or not _KEBAB.fullmatch(name):
            self.error((*path, "name"), f"{name!r} is not kebab-case (e.g. errors-rising)")
        raw = entry.get("condition")
        allowed = ", ".join(c.value for c in Condition)
        if raw is None:
            self.error(path, f"missing 'condition' (one of {allowed})")
            return None
        if not isinstance(raw, str) or raw not in {c.value for c in Condition}:
            self.error((*path, "condition"), f"{raw!r} is not a condition (allowed: {allowed})")
            return None
        condition = Condition(raw)
        required, optional = _KEYS[condition]
        known = (*_COMMON_KEYS, *required, *optional)
        for key in entry:
            if key not in known:
                self.error((*path, key), f"unknown key {key!r} for condition {condition} "
                           f"(known: {', '.join(known)})")
        for key in required:
            if key not in entry:
                needs = ", ".join(required)
                self.error(path, f"missing {key!r} (condition {condition} needs: {needs})")
        values: dict[str, Any] = {}
        readers: dict[str, Callable[[Any, KeyPath], Any]] = {
            "rise": lambda v, p: self._int(v, p, 1, 1_000_000),
            "runs": lambda v, p: self._int(v, p, 1, _MAX_RUNS),
            "within": self._duration,
            "after": self._duration,
            "above": self._share,
            "cause": self._cause,
        }
        for key, read in readers.items():
            if key in entry and key in known:
                values[key] = read(entry[key], (*path, key))
        about = condition.about
        subjects = self._names(entry.get(about), (*path, about), about) if about in entry else ()
        rule_channels = self._names(entry.get("channels"), (*path, "channels"), "channel")
        enabled = self._bool(entry.get("enabled", True), (*path, "enabled"))
        if len(self.found) > errors_before:
            return None
        return Rule(
            name=str(name), condition=condition, channels=tuple(rule_channels),
            enabled=enabled is not False, subjects=tuple(subjects), line=self._line(path),
            **{k: v for k, v in values.items() if v is not None},
        )

    # -- values ----------------------------------------------------------------------------------

    def _line(self, path: KeyPath) -> int:
        return (line_of(self.lines, path) if self.lines else None) or 0

    def _text(self, value: Any, path: KeyPath, *, required: bool = False) -> str | None:
        if value is None or value == "":
            if required:
                self.error(path, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(path, "expected text")
            return None
        return str(value).strip()

    def _address(self, value: Any, path: KeyPath, *, required: bool) -> str | None:
        text = self._text(value, path, required=required)
        if text and ("@" not in text or any(c in text for c in " ,;<>")):
            self.error(path, f"{text!r} is not an email address")
            return None
        return text

    def _addresses(self, value: Any, path: KeyPath, *, required: bool) -> list[str]:
        items: list[tuple[KeyPath, Any]] = []
        if isinstance(value, str):  # comma-separated: one ${VAR} may hold several recipients
            items = [(path, part.strip()) for part in value.split(",") if part.strip()]
        elif isinstance(value, list):
            items = [((*path, index), item) for index, item in enumerate(value)]
        elif value is not None:
            self.error(path, "expected an address or a list of addresses")
            return []
        found = [a for at, item in items if (a := self._address(item, at, required=False))]
        if required and not items:
            self.error(path, "required: at least one address")
        return found

    def _int(self, value: Any, path: KeyPath, low: int, high: int) -> int | None:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # from a ${VAR}
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "expected a whole number")
            return None
        if not low <= value <= high:
            self.error(path, f"must be between {low} and {high:,}")
            return None
        return value

    def _bool(self, value: Any, path: KeyPath) -> bool | None:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.error(path, "expected true or false")
        return None

    def _timeout(self, value: Any, path: KeyPath) -> float | None:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = -1.0
        if isinstance(value, bool) or not 0 < seconds <= _MAX_TIMEOUT:
            self.error(path, f"expected seconds, more than 0 and at most {_MAX_TIMEOUT}")
            return None
        return seconds

    def _duration(self, value: Any, path: KeyPath) -> timedelta | None:
        try:
            schedule = parse_schedule(str(value)) if isinstance(value, str) else None
        except ValueError:
            schedule = None
        if schedule is None or schedule.seconds is None:
            self.error(path, f"{value!r} is not a duration: use 90s, 15m, 2h, 1h30m or 1d")
            return None
        return timedelta(seconds=schedule.seconds)

    def _share(self, value: Any, path: KeyPath) -> float | None:
        share: float | None = None
        if isinstance(value, str) and (match := _PERCENT.fullmatch(value)):
            share = float(match.group(1)) / 100
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 1:
            share = float(value)
        if share is None or not 0 < share <= 1:
            self.error(path, f"{value!r} is not a share of the allowance: write 90% (or 0.9)")
            return None
        return share

    def _cause(self, value: Any, path: KeyPath) -> CauseFilter | None:
        if not isinstance(value, dict) or not value:
            self.error(path, f"expected one or more of {', '.join(_CAUSE_KEYS)}")
            return None
        choices = {"kind": [kind.value for kind in ErrorKind], "direction": list(DIRECTIONS)}
        ok = True
        for key, item in value.items():
            if key not in _CAUSE_KEYS:
                self.error((*path, key), f"unknown key {key!r} (known: {', '.join(_CAUSE_KEYS)})")
            elif not isinstance(item, str) or not item:
                self.error((*path, key), "expected text")
            elif key in choices and item not in choices[key]:
                self.error((*path, key), f"{item!r} is not a {key} "
                           f"(allowed: {', '.join(choices[key])})")
            else:
                continue
            ok = False
        return CauseFilter(**value) if ok else None

    def _names(self, value: Any, path: KeyPath, noun: str) -> list[str]:
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            self.error(path, f"expected a {noun} name or a list of them")
            return []
        known = self.known.get(noun)
        if known is not None:
            for index, item in enumerate(items):
                if item not in known:
                    at = path if isinstance(value, str) else (*path, index)
                    self.error(at, f"no {noun} named {item!r} (known: "
                               f"{', '.join(sorted(known)) or 'none'})")
        return list(items)


def _register_secrets(settings: Mapping[str, Any], declared: frozenset[str]) -> None:
    """Mask a channel's secrets as connections' are; a webhook URL's path on its own too."""
    register_secrets(settings, declared)
    url = settings.get("url")
    if "url" in declared and isinstance(url, str) and url:
        # HTTP libraries name just the path in some errors, and the path is the token.
        parts = urlsplit(url)
        redact.add([parts.path + (f"?{parts.query}" if parts.query else "")])
