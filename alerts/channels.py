"""Where alerts go: email through an SMTP relay (STARTTLS, login) and a JSON webhook.

Both have timeouts, so a mail server or chat service that hangs delays one evaluation, never
the scheduler. A delivery that fails raises :class:`DeliveryError` with a text safe to log:
no password, and no webhook address (Slack's and Teams' webhook URLs are themselves secrets).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import ClassVar
from urllib.parse import urlsplit

import requests

from alerts.messages import Message
from core.redaction import redact

#: Seconds to wait for a mail server or a webhook before giving up on this evaluation.
DEFAULT_TIMEOUT = 10.0
#: Longest part of a webhook's error answer kept in the failure message.
_ANSWER_CHARS = 200


class DeliveryError(Exception):
    """A channel could not deliver a message; ``str()`` is safe to log and show."""


@dataclass(frozen=True, slots=True)
class EmailChannel:
    """Email through an SMTP relay: STARTTLS (on by default) before any login, then one message.

    ``ca_file`` trusts a private certificate authority (an in-house relay); otherwise the
    system's trust store checks the relay's certificate.
    """

    type: ClassVar[str] = "email"

    name: str
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    enabled: bool = True

    def describe(self) -> str:
        """Where messages go, without secrets: ``email to a@x.com via smtp.x.com:587``."""
        tls = "STARTTLS" if self.starttls else "no TLS"
        return f"email to {', '.join(self.recipients)} via {self.host}:{self.port} ({tls})"

    def send(self, message: Message) -> None:
        """Deliver ``message`` to every recipient; DeliveryError if the relay refuses it."""
        email = EmailMessage()
        email["Subject"] = message.title
        email["From"] = self.sender
        email["To"] = ", ".join(self.recipients)
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        email.set_content(message.body())
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                redact(f"{self.host}:{self.port}: {type(exc).__name__}: {_smtp_reason(exc)}")
            ) from None
        if refused:
            # The others have the message: saying "failed" would send it to them again.
            raise DeliveryError(
                f"{self.host}:{self.port} refused some recipients: {', '.join(sorted(refused))}"
            )


def _smtp_reason(exc: BaseException) -> str:
    """The server's words for an SMTP error (its bytes decoded), else the exception's text."""
    error = getattr(exc, "smtp_error", None)
    if isinstance(error, bytes):
        return f"{getattr(exc, 'smtp_code', '')} {error.decode('utf-8', 'replace')}".strip()
    return str(exc) or type(exc).__name__


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    """A JSON POST (Slack or Teams incoming webhook, or a receiver of your own)."""

    type: ClassVar[str] = "webhook"

    name: str
    url: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    enabled: bool = True

    @property
    def shown(self) -> str:
        """The URL's scheme and host only: the path of a chat webhook is its password."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    def describe(self) -> str:
        """Where messages go, without the secret part of the address."""
        return f"webhook to {self.shown}" if self.url else "webhook (no url set)"

    def send(self, message: Message) -> None:
        """POST the message's JSON; any answer but 2xx is a DeliveryError."""
        try:
            response = requests.post(self.url, json=message.payload(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise DeliveryError(self._scrub(f"{self.shown}: {type(exc).__name__}: {exc}")) from None
        if not 200 <= response.status_code < 300:
            answer = " ".join(response.text.split())[:_ANSWER_CHARS]
            raise DeliveryError(
                self._scrub(f"{self.shown} answered HTTP {response.status_code}: {answer}")
            )

    def _scrub(self, text: str) -> str:
        # requests names the URL, or just its path, in its errors: both hold the token.
        parts = urlsplit(self.url)
        for secret in (self.url, parts.path + (f"?{parts.query}" if parts.query else "")):
            if len(secret) > 1:
                text = text.replace(secret, "/***")
        return redact(text)


Channel = EmailChannel | WebhookChannel
