"""The channels against real local servers: SMTP with STARTTLS and a login, and a webhook."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from alerts.channels import DeliveryError, EmailChannel, WebhookChannel
from alerts.evaluate import deliver, send_test
from alerts.messages import FIRING, Message
from tests.alerts.conftest import SMTP_PASSWORD, SMTP_USER, Mailbox, Receiver, TlsMailbox

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def relay(mailbox: Mailbox, **settings: object) -> EmailChannel:
    options: dict[str, object] = {
        "name": "mail", "host": mailbox.host, "port": mailbox.port,
        "sender": "syncline@example.com", "recipients": ("ops@example.com",), "timeout": 5.0,
    }
    options.update(settings)
    return EmailChannel(**options)  # type: ignore[arg-type]


def secure(mailbox: TlsMailbox, **settings: object) -> EmailChannel:
    options: dict[str, object] = {"starttls": True, "username": SMTP_USER,
                                  "password": SMTP_PASSWORD, "ca_file": mailbox.ca_file}
    return relay(mailbox, **(options | settings))


ALERT = Message(FIRING, "stale", "stale", "crm-lead", "crm-lead: no successful run for 2 h.",
                NOW, since=NOW)


def test_starttls_then_login_then_the_message(tls_smtp_server: TlsMailbox) -> None:
    secure(tls_smtp_server).send(ALERT)
    assert tls_smtp_server.logins == [SMTP_USER]
    assert tls_smtp_server.tls == [True]  # the message travelled inside TLS
    [email] = tls_smtp_server.messages
    assert email["Subject"] == "[Syncline] ALERT stale: crm-lead"


def test_the_relays_certificate_is_verified(tls_smtp_server: TlsMailbox) -> None:
    with pytest.raises(DeliveryError) as caught:
        secure(tls_smtp_server, ca_file=None).send(ALERT)  # the system CAs do not know it
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert tls_smtp_server.messages == []


def test_a_relay_requiring_starttls_refuses_a_client_that_skips_it(
    tls_smtp_server: TlsMailbox, log_lines: io.StringIO
) -> None:
    channel = secure(tls_smtp_server, starttls=False)
    result = deliver(channel, ALERT)
    assert not result.delivered
    assert result.error == (
        f"{tls_smtp_server.host}:{tls_smtp_server.port}: SMTPNotSupportedError: SMTP AUTH "
        "extension not supported by server."
    )
    assert tls_smtp_server.messages == []
    assert "alert.send_failed" in log_lines.getvalue()


def test_a_refused_login_is_logged_without_the_password(
    tls_smtp_server: TlsMailbox, log_lines: io.StringIO
) -> None:
    wrong = "not-the-password-3f9a1c"
    result = deliver(secure(tls_smtp_server, password=wrong), ALERT)
    assert not result.delivered
    assert "SMTPAuthenticationError: 535" in (result.error or "")
    [line] = [x for x in log_lines.getvalue().splitlines() if "alert.send_failed" in x]
    assert "channel=mail" in line and "535" in line
    assert wrong not in log_lines.getvalue() and SMTP_PASSWORD not in log_lines.getvalue()


def test_an_unreachable_relay_is_a_delivery_error(smtp_server: Mailbox) -> None:
    channel = relay(smtp_server, port=1)
    with pytest.raises(DeliveryError) as caught:
        channel.send(ALERT)
    assert str(caught.value).startswith("127.0.0.1:1: ConnectionRefusedError")


def test_the_test_message(smtp_server: Mailbox, webhook: Receiver) -> None:
    assert send_test(relay(smtp_server, starttls=False), NOW).delivered
    [email] = smtp_server.messages
    assert email["Subject"] == "[Syncline] Test message for mail"
    assert "If you can read it, Syncline's alerts will reach you here." in str(
        email.get_payload(decode=True).decode())
    assert send_test(WebhookChannel("chat", webhook.url), NOW).delivered
    [(_, body)] = webhook.posts
    assert body["text"].startswith("[Syncline] Test message for chat\n")
    assert body["syncline"]["state"] == "test"


def test_describe_never_shows_a_secret() -> None:
    hook = WebhookChannel("chat", "https://hooks.slack.com/services/T1/B2/XYZsecret")
    assert hook.describe() == "webhook to https://hooks.slack.com"
    assert "XYZsecret" not in repr(hook)
    mail = EmailChannel("mail", "smtp.example.com", "a@example.com", ("b@example.com",),
                        username="u", password="pw-secret-77")
    assert "pw-secret-77" not in repr(mail) and "pw-secret-77" not in mail.describe()
