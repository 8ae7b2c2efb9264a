"""Tokens per grant, refused credentials, one refresh on an expired session, settings checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.conformance.secretforms import basic_forms, encoded_forms
from connectors.errors import ConnectorError, ErrorKind
from connectors.salesforce import SalesforceConnector
from core.redaction import redact
from tests.connectors.salesforce.fakes import (
    LOGIN,
    PASSWORD,
    SECRET,
    SECURITY_TOKEN,
    add_json,
    add_token,
    connector,
    settings,
)

LIMITS = {"DailyApiRequests": {"Max": 15000, "Remaining": 14990}}


def form_of(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@responses.activate
def test_password_grant_appends_the_security_token() -> None:
    add_token()
    add_json("GET", "limits/", LIMITS)
    crm = connector()
    crm.check()
    form = form_of(responses.calls[0])
    assert form == {"grant_type": "password", "client_id": "client-1", "client_secret": SECRET,
                    "username": "sync@example.com", "password": PASSWORD + SECURITY_TOKEN}
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-1"
    usage = crm.usage()
    assert usage is not None and (usage.used, usage.limit) == (10, 15000)


@responses.activate
def test_client_credentials_grant() -> None:
    add_token()
    add_json("GET", "limits/", LIMITS)
    crm = SalesforceConnector("crm", {"type": "salesforce", "login_url": LOGIN,
                                      "auth": "client_credentials", "client_id": "client-1",
                                      "client_secret": SECRET})
    crm.check()
    assert form_of(responses.calls[0]) == {"grant_type": "client_credentials",
                                           "client_id": "client-1", "client_secret": SECRET}


@responses.activate
def test_jwt_grant_signs_an_assertion_for_the_user() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    add_token()
    add_json("GET", "limits/", LIMITS)
    crm = SalesforceConnector("crm", {"type": "salesforce", "login_url": LOGIN, "auth": "jwt",
                                      "client_id": "client-1", "username": "sync@example.com",
                                      "private_key": pem})
    crm.check()
    form = form_of(responses.calls[0])
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(form["assertion"], key.public_key(), algorithms=["RS256"],
                        audience=LOGIN)
    assert (claims["iss"], claims["sub"]) == ("client-1", "sync@example.com")


def test_jwt_with_a_broken_key_is_config_without_the_key() -> None:
    crm = SalesforceConnector("crm", {"type": "salesforce", "login_url": LOGIN, "auth": "jwt",
                                      "client_id": "c", "username": "u",
                                      "private_key": "not-a-pem-key-material"})
    with pytest.raises(ConnectorError) as info:
        crm.check()
    assert info.value.kind is ErrorKind.CONFIG
    assert "not-a-pem-key-material" not in str(info.value)


@responses.activate
def test_refused_credentials_are_auth_in_salesforce_words_without_secrets() -> None:
    add_token(status=400, body={"error": "invalid_grant",
                                "error_description": f"authentication failure {PASSWORD}"})
    crm = connector()
    with pytest.raises(ConnectorError) as info:
        crm.check()
    error = info.value
    assert error.kind is ErrorKind.AUTH and not error.retryable
    assert error.code == "invalid_grant"
    assert "authentication failure" in error.message
    shown = " ".join([str(error), repr(error), error.hint or "", repr(crm)])
    for secret in (PASSWORD, SECRET, SECURITY_TOKEN):
        assert secret not in shown
    assert len(responses.calls) == 1  # refused credentials are not retried


def test_credentials_are_registered_in_the_shapes_they_travel_in() -> None:
    password, token, secret = "pw-ä+/=%&#!1", "tok-ü&#!2", "cs-é+/=3"
    connector(password=password, security_token=token, client_secret=secret)
    # The password grant sends password and token as one value; Basic pairs id and secret.
    forms = {**encoded_forms(password + token), **basic_forms("client-1", secret)}
    for name, form in forms.items():
        assert redact(f"<{form}>") == "<***>", name


@responses.activate
def test_a_long_refusal_is_cut_after_redaction() -> None:
    secret = "cs-cut-ä+/=%&#!-0123456789"
    add_token(status=403, body={"detail": "x" * 170, "echo": secret, "more": "y" * 50})
    crm = connector(client_secret=secret)
    with pytest.raises(ConnectorError) as info:
        crm.check()
    message = info.value.message
    assert message.startswith("token request answered HTTP 403: ") and message.endswith("…")
    # Cut first, the head of the secret would have stayed, unrecognisable.
    assert '"echo": "***' in message and "cs-cut" not in message


@responses.activate
def test_expired_session_is_refreshed_once_and_replayed() -> None:
    add_token("tok-1")
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    add_json("GET", "limits/", expired, status=401)
    add_token("tok-2")
    add_json("GET", "limits/", LIMITS)
    crm = connector()
    crm.check()
    auth = [c.request.headers.get("Authorization") for c in responses.calls
            if "limits" in c.request.url]
    assert auth == ["Bearer tok-1", "Bearer tok-2"]


@responses.activate
def test_a_second_expired_session_is_auth() -> None:
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    add_token("tok-1")
    add_json("GET", "limits/", expired, status=401)
    add_token("tok-2")
    add_json("GET", "limits/", expired, status=401)
    crm = connector()
    with pytest.raises(ConnectorError) as info:
        crm.check()
    assert (info.value.kind, info.value.code) == (ErrorKind.AUTH, "INVALID_SESSION_ID")
    assert len([c for c in responses.calls if "token" in c.request.url]) == 2


@pytest.mark.parametrize("url", ["http://login.example.com", "ftp://127.0.0.1"])
def test_plain_http_is_refused_except_on_loopback(url: str) -> None:
    with pytest.raises(ConnectorError) as info:
        SalesforceConnector("crm", settings(login_url=url))
    assert info.value.kind is ErrorKind.CONFIG


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"])
def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    assert SalesforceConnector("crm", settings(login_url=url)).settings.credentials.login_url


@pytest.mark.parametrize(
    ("extra", "named"),
    [({"pagesize": 5}, "'pagesize'"), ({"page_size": 100}, "page_size"),
     ({"max_batch_size": 201}, "max_batch_size"), ({"auth": "saml"}, "auth"),
     ({"api_budget": 1.5}, "api_budget"), ({"password": None}, "password"),
     ({"login_url": None}, "login_url"), ({"retry": {"tries": 2}}, "tries")],
)
def test_bad_settings_are_config_naming_the_setting(extra: dict[str, Any], named: str) -> None:
    with pytest.raises(ConnectorError) as info:
        SalesforceConnector("crm", settings(**extra))
    assert info.value.kind is ErrorKind.CONFIG
    assert named in info.value.message


def test_unknown_setting_lists_the_known_ones() -> None:
    with pytest.raises(ConnectorError) as info:
        SalesforceConnector("crm", settings(instance=1))
    assert "bulk_threshold" in info.value.message and "login_url" in info.value.message


def test_defaults_and_budget_attribute() -> None:
    crm = SalesforceConnector("crm", settings())
    assert (crm.page_size, crm.max_batch_size, crm.bulk_threshold) == (2000, 200, 2000)
    assert crm.settings.api_version == "59.0" and crm.api_budget == 0.8
    assert crm.secret_keys == {"client_secret", "password", "security_token", "private_key"}
