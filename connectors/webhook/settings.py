"""The settings of a ``type: webhook`` connection: a source of signed requests."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from connectors.settings import ConnectionSettings
from inbound.signatures import DEFAULT_HMAC_HEADER, SCHEMES, Scheme, standard_key

#: Requests per minute a source may send before it is answered 429 (per web worker process).
DEFAULT_RATE_PER_MINUTE = 600
#: Stored events per ``read_changes`` page.
DEFAULT_PAGE_SIZE = 500


class WebhookConnection(ConnectionSettings):
    """What a ``type: webhook`` entry of the connections file (or a test's config) may say.

    ``secret`` or ``secrets`` (a list, while a secret is rotated: a request signed with any
    of them is accepted; ``syncline hooks send`` signs with the first). ``header`` names the
    signature header of ``hmac_sha256`` sources only. ``engine`` (in code only) or
    ``database_url`` say where the inbox is; by default it is the hub database of
    ``DATABASE_URL``, as for every command.
    """

    scheme: Scheme
    secret: str | None = Field(default=None, min_length=1)
    secrets: list[str] | None = Field(default=None, min_length=1)
    header: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9-]+$")
    rate_per_minute: int = Field(default=DEFAULT_RATE_PER_MINUTE, ge=1)
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1)
    database_url: str | None = Field(default=None, min_length=1)
    #: An SQLAlchemy engine handed over in code (tests, the web process); wins over the URL.
    engine: Any = None

    @field_validator("secrets")
    @classmethod
    def _no_blank_secret(cls, value: list[str] | None) -> list[str] | None:
        # Never quote the value: it is a secret.
        if value is not None and any(not item.strip() for item in value):
            raise ValueError("every secret must be non-empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.secret is None and not self.secrets:
            raise ValueError("needs 'secret' (or 'secrets', a list, while rotating one)")
        if self.secret is not None and self.secrets:
            raise ValueError("give 'secret' or 'secrets', not both")
        if self.header is not None and self.scheme != "hmac_sha256":
            raise ValueError(f"'header' is for scheme hmac_sha256 only, not {self.scheme}")
        if self.scheme == "standard":
            for value in self.all_secrets:
                standard_key(value)  # ValueError in words that never quote the secret
        return self

    @property
    def all_secrets(self) -> list[str]:
        """Every secret a request may be signed with, the one to sign with first."""
        return [self.secret] if self.secret is not None else list(self.secrets or [])

    @property
    def signature_header(self) -> str:
        """The header an ``hmac_sha256`` source signs in."""
        return self.header or DEFAULT_HMAC_HEADER


__all__ = ["SCHEMES", "WebhookConnection"]
