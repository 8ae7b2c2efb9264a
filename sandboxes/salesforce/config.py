"""SandboxConfig: the emulated org's settings, loaded from YAML (default.yaml or --config FILE)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.yaml")

FIELD_TYPES = (
    "string", "email", "phone", "url", "picklist", "multipicklist", "boolean", "int", "double",
    "currency", "percent", "date", "datetime", "reference", "textarea",
)  # fmt: skip
CONDITION_OPS = (
    "equals", "not_equals", "blank", "not_blank", "starts_with", "not_starts_with",
    "longer_than", "in", "not_in",
)  # fmt: skip
# Ops that compare against a `value` (the others look at the field alone).
OPS_WITH_VALUE = frozenset(CONDITION_OPS) - {"blank", "not_blank"}

# Release names of the API versions, for `GET /services/data/`.
RELEASE_NAMES: dict[str, str] = {
    "55.0": "Summer '22", "56.0": "Winter '23", "57.0": "Spring '23", "58.0": "Summer '23",
    "59.0": "Winter '24", "60.0": "Spring '24", "61.0": "Summer '24", "62.0": "Winter '25",
    "63.0": "Spring '25", "64.0": "Summer '25",
}  # fmt: skip


class ConfigError(ValueError):
    """A sandbox config file is unreadable or invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ConnectedApp:
    """An OAuth connected app (client credentials the token endpoint accepts)."""

    name: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class UserConfig:
    """A user of the org; users with a password can log in (password grant)."""

    username: str
    email: str
    first_name: str
    last_name: str
    password: str | None = None
    security_token: str = ""


@dataclass(frozen=True)
class CustomFieldConfig:
    """A custom field (`X__c`) added to one object's metadata."""

    object: str
    name: str
    type: str
    label: str
    length: int | None = None
    required: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    precision: int | None = None
    scale: int | None = None
    picklist_values: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: str | None = None
    default_value: Any = None
    key: str = ""  # where it came from in the file, for error messages


@dataclass(frozen=True)
class PicklistOverride:
    """Changes to a standard picklist: its values, restriction and default."""

    object: str
    field: str
    values: tuple[str, ...] | None = None
    restricted: bool | None = None
    default: str | None = None
    key: str = ""


@dataclass(frozen=True)
class ValidationRule:
    """A declarative validation rule: when `when` holds for the record, the save fails."""

    object: str
    name: str
    error_message: str
    when: dict
    error_field: str | None = None  # None: shown at the top of the page (no fields in the error)
    active: bool = True
    key: str = ""


@dataclass(frozen=True)
class DuplicateRule:
    """A duplicate rule: a record matching a live record of the object on every field is blocked."""

    object: str
    name: str
    fields: tuple[str, ...]
    action: str = "block"  # "block" or "allow" (allow = alert only, the save goes through)
    on_insert: bool = True
    on_update: bool = True
    key: str = ""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything configurable about the emulated org."""

    api_versions: tuple[str, ...] = ("59.0",)
    default_api_version: str = "59.0"
    daily_api_limit: int = 100_000
    token_lifetime_seconds: int = 7200
    organization_name: str = "Syncline Sandbox"
    connected_apps: tuple[ConnectedApp, ...] = ()
    users: tuple[UserConfig, ...] = ()
    custom_fields: tuple[CustomFieldConfig, ...] = ()
    picklists: tuple[PicklistOverride, ...] = ()
    validation_rules: tuple[ValidationRule, ...] = ()
    duplicate_rules: tuple[DuplicateRule, ...] = ()
    source: str = "<defaults>"
    extras: dict = field(default_factory=dict)  # sections other modules own (`faults`)

    @classmethod
    def load(cls, path: str | Path | None = None) -> SandboxConfig:
        """Read and check a YAML config (None: the shipped default.yaml)."""
        path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from error
        return cls.from_dict(data if data is not None else {}, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> SandboxConfig:
        """Build and check a config from already-parsed data (errors name `source` and the key)."""
        config = _Parser(source).config(data)
        config.check()
        return config

    def check(self) -> None:
        """Check cross-references (objects, fields, picklist values) by building the schema."""
        from sandboxes.salesforce.schema import Schema  # the schema module imports this one

        Schema(self)

    def error(self, key: str, problem: str) -> ConfigError:
        """A ConfigError naming this config's file and `key`."""
        return ConfigError(f"{self.source}: {key}: {problem}")

    @property
    def api_user(self) -> UserConfig:
        """The integration user: the first configured user."""
        return self.users[0]

    @property
    def connected_app(self) -> ConnectedApp:
        """The default connected app: the first configured one."""
        return self.connected_apps[0]


class _Parser:
    """Turns parsed YAML into a SandboxConfig, naming the file and key in every error."""

    _TOP_KEYS = (
        "api", "limits", "auth", "organization", "connected_apps", "users", "custom_fields",
        "picklists", "validation_rules", "duplicate_rules", "faults",
    )  # fmt: skip

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        if allowed is not None:
            for name in value:
                if name not in allowed:
                    raise self.fail(
                        f"{key}.{name}" if key else str(name),
                        f"unknown key (expected one of: {', '.join(allowed)})",
                    )
        return value

    def sequence(self, value: Any, key: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__}")
        return value

    def text(self, data: dict, name: str, key: str, default: Any = ..., *, blank: bool = False):
        if name not in data or data[name] is None:
            if default is ...:
                raise self.fail(f"{key}.{name}", "is required")
            return default
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{key}.{name}", f"expected text, got {type(value).__name__}")
        value = str(value)
        if not value.strip() and not blank:
            raise self.fail(f"{key}.{name}", "must not be blank")
        return value

    def integer(self, data: dict, name: str, key: str, default: Any = ..., minimum: int = 0):
        if name not in data or data[name] is None:
            if default is ...:
                raise self.fail(f"{key}.{name}", "is required")
            return default
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{key}.{name}", f"expected a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(f"{key}.{name}", f"must be at least {minimum}")
        return value

    def flag(self, data: dict, name: str, key: str, default: bool) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key}.{name}", f"expected true or false, got {value!r}")
        return value

    def strings(self, data: dict, name: str, key: str) -> tuple[str, ...]:
        values = self.sequence(data.get(name), f"{key}.{name}")
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise self.fail(f"{key}.{name}[{index}]", "expected text")
        return tuple(str(value) for value in values)

    def config(self, data: Any) -> SandboxConfig:
        data = self.mapping(data, "", self._TOP_KEYS)
        api = self.mapping(data.get("api") or {}, "api", ("versions", "default_version"))
        versions = self.strings(api, "versions", "api") or ("59.0",)
        for index, version in enumerate(versions):
            if not _is_version(version):
                raise self.fail(
                    f"api.versions[{index}]", f"not an API version like 59.0: {version}"
                )
        default_version = self.text(api, "default_version", "api", versions[-1])
        if default_version not in versions:
            raise self.fail("api.default_version", f"{default_version} is not in api.versions")
        limits = self.mapping(data.get("limits") or {}, "limits", ("daily_api_requests",))
        auth = self.mapping(data.get("auth") or {}, "auth", ("token_lifetime_seconds",))
        organization = self.mapping(data.get("organization") or {}, "organization", ("name",))
        apps = tuple(
            self.connected_app(item, f"connected_apps[{index}]")
            for index, item in enumerate(
                self.sequence(data.get("connected_apps"), "connected_apps")
            )
        )
        users = tuple(
            self.user(item, f"users[{index}]")
            for index, item in enumerate(self.sequence(data.get("users"), "users"))
        )
        if not apps:
            raise self.fail("connected_apps", "at least one connected app is required")
        if not users:
            raise self.fail("users", "at least one user (the integration user) is required")
        custom_fields: list[CustomFieldConfig] = []
        for index, item in enumerate(self.sequence(data.get("custom_fields"), "custom_fields")):
            custom_fields.extend(self.custom_field(item, f"custom_fields[{index}]"))
        return SandboxConfig(
            api_versions=versions,
            default_api_version=default_version,
            daily_api_limit=self.integer(limits, "daily_api_requests", "limits", 100_000, 1),
            token_lifetime_seconds=self.integer(auth, "token_lifetime_seconds", "auth", 7200, 1),
            organization_name=self.text(organization, "name", "organization", "Syncline Sandbox"),
            connected_apps=apps,
            users=users,
            custom_fields=tuple(custom_fields),
            picklists=self.picklists(data.get("picklists") or {}),
            validation_rules=tuple(
                self.validation_rule(item, f"validation_rules[{index}]")
                for index, item in enumerate(
                    self.sequence(data.get("validation_rules"), "validation_rules")
                )
            ),
            duplicate_rules=tuple(
                self.duplicate_rule(item, f"duplicate_rules[{index}]")
                for index, item in enumerate(
                    self.sequence(data.get("duplicate_rules"), "duplicate_rules")
                )
            ),
            source=self.source,
            # Sections owned by other modules (fault injection) pass through unchecked here.
            extras={"faults": data["faults"]} if data.get("faults") is not None else {},
        )

    def connected_app(self, item: Any, key: str) -> ConnectedApp:
        item = self.mapping(item, key, ("name", "client_id", "client_secret"))
        return ConnectedApp(
            name=self.text(item, "name", key, "Syncline"),
            client_id=self.text(item, "client_id", key),
            client_secret=self.text(item, "client_secret", key),
        )

    def user(self, item: Any, key: str) -> UserConfig:
        allowed = ("username", "email", "first_name", "last_name", "password", "security_token")
        item = self.mapping(item, key, allowed)
        username = self.text(item, "username", key)
        return UserConfig(
            username=username,
            email=self.text(item, "email", key, username),
            first_name=self.text(item, "first_name", key, ""),
            last_name=self.text(item, "last_name", key),
            password=self.text(item, "password", key, None),
            security_token=self.text(item, "security_token", key, "", blank=True),
        )

    def custom_field(self, item: Any, key: str) -> list[CustomFieldConfig]:
        allowed = (
            "object", "objects", "name", "type", "label", "length", "required", "external_id",
            "unique", "case_sensitive", "precision", "scale", "values", "restricted",
            "reference_to", "default",
        )  # fmt: skip
        item = self.mapping(item, key, allowed)
        name = self.text(item, "name", key)
        if not name.endswith("__c") or not name[:-3].replace("_", "a").isalnum():
            raise self.fail(f"{key}.name", f"custom field names end in __c: {name}")
        objects = self.strings(item, "objects", key)
        if "object" in item:
            objects = (self.text(item, "object", key), *objects)
        if not objects:
            raise self.fail(key, "needs `object` or `objects`")
        field_type = self.text(item, "type", key)
        if field_type not in FIELD_TYPES:
            raise self.fail(
                f"{key}.type",
                f"unknown field type {field_type!r} (expected one of: {', '.join(FIELD_TYPES)})",
            )
        values = self.strings(item, "values", key)
        if field_type in ("picklist", "multipicklist") and not values:
            raise self.fail(f"{key}.values", f"a {field_type} needs values")
        if field_type == "reference" and "reference_to" not in item:
            raise self.fail(f"{key}.reference_to", "a reference field needs reference_to")
        label = self.text(item, "label", key, name[:-3].replace("_", " "))
        default_length = {"string": 255, "textarea": 32768}.get(field_type)
        external_id = self.flag(item, "external_id", key, False)
        return [
            CustomFieldConfig(
                object=sobject,
                name=name,
                type=field_type,
                label=label,
                length=self.integer(item, "length", key, default_length, 1),
                required=self.flag(item, "required", key, False),
                external_id=external_id,
                unique=self.flag(item, "unique", key, False),
                case_sensitive=self.flag(item, "case_sensitive", key, False),
                precision=self.integer(item, "precision", key, None, 1),
                scale=self.integer(item, "scale", key, None, 0),
                picklist_values=values,
                restricted=self.flag(item, "restricted", key, False),
                reference_to=self.text(item, "reference_to", key, None),
                default_value=item.get("default"),
                key=key,
            )
            for sobject in objects
        ]

    def picklists(self, data: Any) -> tuple[PicklistOverride, ...]:
        data = self.mapping(data, "picklists")
        overrides = []
        for name, item in data.items():
            key = f"picklists.{name}"
            if not isinstance(name, str) or name.count(".") != 1:
                raise self.fail(key, "picklist keys look like Object.Field (e.g. Lead.LeadSource)")
            item = self.mapping(item or {}, key, ("values", "restricted", "default"))
            sobject, field_name = name.split(".")
            values = self.strings(item, "values", key) if "values" in item else None
            restricted = self.flag(item, "restricted", key, False) if "restricted" in item else None
            overrides.append(
                PicklistOverride(
                    object=sobject,
                    field=field_name,
                    values=values,
                    restricted=restricted,
                    default=self.text(item, "default", key, None),
                    key=key,
                )
            )
        return tuple(overrides)

    def validation_rule(self, item: Any, key: str) -> ValidationRule:
        allowed = ("object", "name", "error_message", "error_field", "when", "active")
        item = self.mapping(item, key, allowed)
        if "when" not in item:
            raise self.fail(f"{key}.when", "is required")
        self.condition(item["when"], f"{key}.when")
        return ValidationRule(
            object=self.text(item, "object", key),
            name=self.text(item, "name", key),
            error_message=self.text(item, "error_message", key),
            error_field=self.text(item, "error_field", key, None),
            when=item["when"],
            active=self.flag(item, "active", key, True),
            key=key,
        )

    def condition(self, condition: Any, key: str) -> None:
        condition = self.mapping(condition, key)
        groups = [name for name in ("all", "any", "not") if name in condition]
        if groups:
            if len(condition) != 1:
                raise self.fail(key, "a group has exactly one key: all, any or not")
            name = groups[0]
            if name == "not":
                self.condition(condition["not"], f"{key}.not")
                return
            items = self.sequence(condition[name], f"{key}.{name}")
            if not items:
                raise self.fail(f"{key}.{name}", "needs at least one condition")
            for index, item in enumerate(items):
                self.condition(item, f"{key}.{name}[{index}]")
            return
        self.mapping(condition, key, ("field", "op", "value"))
        self.text(condition, "field", key)
        op = self.text(condition, "op", key)
        if op not in CONDITION_OPS:
            raise self.fail(
                f"{key}.op", f"unknown op {op!r} (expected one of: {', '.join(CONDITION_OPS)})"
            )
        if op in OPS_WITH_VALUE and "value" not in condition:
            raise self.fail(f"{key}.value", f"op {op} needs a value")
        if op in ("in", "not_in") and not isinstance(condition["value"], list):
            raise self.fail(f"{key}.value", f"op {op} needs a list of values")
        if op == "longer_than" and (
            isinstance(condition["value"], bool) or not isinstance(condition["value"], int)
        ):
            raise self.fail(f"{key}.value", "op longer_than needs a whole number")

    def duplicate_rule(self, item: Any, key: str) -> DuplicateRule:
        allowed = ("object", "name", "fields", "action", "on")
        item = self.mapping(item, key, allowed)
        fields = self.strings(item, "fields", key)
        if not fields:
            raise self.fail(f"{key}.fields", "needs at least one field")
        action = self.text(item, "action", key, "block")
        if action not in ("block", "allow"):
            raise self.fail(f"{key}.action", f"expected block or allow, got {action!r}")
        events = self.strings(item, "on", key) if "on" in item else ("insert", "update")
        for index, event in enumerate(events):
            if event not in ("insert", "update"):
                raise self.fail(f"{key}.on[{index}]", f"expected insert or update, got {event!r}")
        return DuplicateRule(
            object=self.text(item, "object", key),
            name=self.text(item, "name", key),
            fields=fields,
            action=action,
            on_insert="insert" in events,
            on_update="update" in events,
            key=key,
        )


def _is_version(text: str) -> bool:
    major, dot, minor = text.partition(".")
    return bool(dot) and major.isdigit() and minor.isdigit()
