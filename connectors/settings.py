"""What a connection's settings may say: one pydantic model per connector type.

Each connector declares its model (``Connector.settings_model``); the keys every type has, its
``type`` and the ``retry:`` block, are here. The connections file is checked against the same
model (:meth:`connectors.config.Connections.build`), whose problems name ``file:line key path``
like a mapping's; a connector built in code gets the same words as a CONFIG error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from connectors.errors import ConnectorError, ErrorKind
from connectors.http import check_url
from connectors.retry import RetryPolicy
from core.validation import problems
from core.values import blank
from core.yamlsource import KeyPath, format_path

S = TypeVar("S", bound=BaseModel)

_DEFAULT_RETRY = RetryPolicy()


class Settings(BaseModel):
    """A settings block: a misspelt key is an error, and values are taken as written.

    Strict, so ``max_tries: "5"`` is refused rather than read as 5: a quoted number in YAML
    is usually a mistake the admin wants to hear about.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _web_address(value: str) -> str:
    """https:// only (http:// to a loopback sandbox): a secret never travels in the clear."""
    try:
        check_url(value)
    except ConnectorError as exc:
        raise ValueError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from None
    return value


#: A URL setting: https://, or http:// to localhost (a sandbox).
WebAddress = Annotated[str, AfterValidator(_web_address)]
#: An optional one: left blank (``${UI_URL:-}``) it is not set.
OptionalWebAddress = Annotated[
    WebAddress | None, BeforeValidator(lambda value: None if blank(value) else value)
]


class RetrySettings(Settings):
    """The ``retry:`` block: how often and how long to retry a remote call."""

    max_tries: int = Field(default=_DEFAULT_RETRY.max_tries, ge=1)
    initial_wait: float = Field(default=_DEFAULT_RETRY.initial_wait, ge=0)
    max_wait: float = Field(default=_DEFAULT_RETRY.max_wait, ge=0)

    def policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(self.max_tries, self.initial_wait, self.max_wait)


class ConnectionSettings(Settings):
    """Keys every connection type has; each connector's model adds its own."""

    type: str
    retry: RetrySettings = Field(default_factory=RetrySettings)


def parse_settings(model: type[S], config: Any, *, at: KeyPath = ()) -> S:
    """``config`` as ``model``; its problems are one CONFIG error naming each key path.

    ``at`` is where ``config`` sits (the connection name), so the message reads
    ``crm.retry.max_tries: must be at least 1``.
    """
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        found = settings_problems(model, config, exc)
    lines = [f"{format_path((*at, *path))}: {message}" if at or path else message
             for path, message in found]
    raise ConnectorError(ErrorKind.CONFIG, "; ".join(lines))


def settings_problems(
    model: type[BaseModel], config: Any, error: ValidationError
) -> list[tuple[KeyPath, str]]:
    """Every problem ``error`` found in ``config``, by key path, in the mappings' words."""
    if not isinstance(config, Mapping):
        return [((), "expected settings (key: value)")]
    return problems(model, dict(config), error)


def version_text(example: str) -> Any:
    """A before-validator for ``api_version``: ``59.0`` as YAML writes it is a number, as text."""

    def check(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and (
            "." not in value or not value.replace(".", "", 1).isdigit()
        ):
            raise ValueError(f"must look like {example}, not {value!r}")
        return value

    return check
