"""Client-credential tokens, one refresh on 401, refused secrets, settings checks."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses

from connectors.dynamics import DynamicsConnector
from connectors.errors import ConnectorError, ErrorKind
from tests.connectors.dynamics.fakes import (
    ORG,
    SECRET,
    TOKEN_URL,
    add_json,
    add_token,
    connector,
    odata_error,
    settings,
)

CHECK = "EntityDefinitions"


@responses.activate
def test_token_request_is_a_client_credentials_form_for_the_environment() -> None:
    add_token()
    add_json("GET", CHECK, {"value": []})
    connector().check()
    form = {k: v[0] for k, v in parse_qs(responses.calls[0].request.body).items()}
    assert form == {"grant_type": "client_credentials", "client_id": "client-1",
                    "client_secret": SECRET, "scope": f"{ORG}/.default"}
    sent = responses.calls[1].request.headers
    assert sent["Authorization"] == "Bearer tok-1"
    assert (sent["OData-MaxVersion"], sent["OData-Version"]) == ("4.0", "4.0")
    assert sent["Accept"] == "application/json" and sent["If-None-Match"] == "null"


@responses.activate
def test_resource_setting_becomes_the_default_scope() -> None:
    add_token()
    add_json("GET", CHECK, {"value": []})
    connector(resource="https://other.crm4.dynamics.com/").check()
    form = parse_qs(responses.calls[0].request.body)
    assert form["scope"] == ["https://other.crm4.dynamics.com/.default"]


@responses.activate
def test_expired_token_is_refreshed_once_and_the_call_replayed() -> None:
    add_token("tok-1")
    add_token("tok-2")
    add_json("GET", CHECK, odata_error("0x8004a101", "ExpiredAuthTicket"), status=401)
    add_json("GET", CHECK, {"value": []})
    crm = connector()
    crm.check()
    tokens = [c.request.headers.get("Authorization") for c in responses.calls
              if c.request.url.startswith(ORG)]
    assert tokens == ["Bearer tok-1", "Bearer tok-2"]


@responses.activate
def test_a_second_401_after_refresh_is_auth() -> None:
    add_token("tok-1")
    add_token("tok-2")
    add_json("GET", CHECK, odata_error("0x8004a101", "ExpiredAuthTicket"), status=401)
    add_json("GET", CHECK, odata_error("0x8004a101", "ExpiredAuthTicket"), status=401)
    with pytest.raises(ConnectorError) as info:
        connector().check()
    assert info.value.kind is ErrorKind.AUTH and not info.value.retryable


@responses.activate
def test_bad_secret_is_auth_with_entra_words_and_no_secret() -> None:
    add_token(status=401, body={
        "error": "invalid_client",
        "error_description": f"AADSTS7000215: Invalid client secret provided. Ensure the "
                             f"secret being sent in the request is the client secret value "
                             f"({SECRET}).",
        "error_codes": [7000215]})
    crm = connector()
    with pytest.raises(ConnectorError) as info:
        crm.check()
    error = info.value
    assert error.kind is ErrorKind.AUTH and error.code == "invalid_client"
    assert "AADSTS7000215" in error.message
    for text in (str(error), repr(error), str(error.hint), repr(crm)):
        assert SECRET not in text
    assert crm.api_calls == 0  # the token call is not a Web API call


def test_unknown_settings_are_named() -> None:
    with pytest.raises(ConnectorError) as info:
        DynamicsConnector("crm", settings(instance="x", pagesize=3))
    assert info.value.kind is ErrorKind.CONFIG
    assert "crm.instance: unknown key 'instance'" in info.value.message
    assert "crm.pagesize: unknown key 'pagesize'" in info.value.message


@pytest.mark.parametrize(("extra", "words"), [
    ({"url": "http://org.crm.dynamics.com"}, "https"),
    ({"token_url": "http://login.example.com/t"}, "https"),
    ({"client_secret": None}, "client_secret"),
    ({"page_size": 6000}, "page_size"),
    ({"max_batch_size": 0}, "max_batch_size"),
    ({"api_version": "v9"}, "api_version"),
    ({"scope": "a", "resource": "b"}, "not both"),
])
def test_bad_settings_are_config(extra: dict, words: str) -> None:
    with pytest.raises(ConnectorError) as info:
        DynamicsConnector("crm", settings(**extra))
    assert info.value.kind is ErrorKind.CONFIG
    assert words in info.value.message
    assert SECRET not in str(info.value)


def test_http_is_allowed_for_a_loopback_sandbox() -> None:
    crm = DynamicsConnector("crm", settings(url="http://127.0.0.1:9", token_url=TOKEN_URL))
    assert crm.http.base_url == "http://127.0.0.1:9/api/data/v9.2/"
