"""The redactor: registered secrets in every encoding, credential values by key, prose kept."""

from __future__ import annotations

import base64

import pytest

from connectors.conformance.secretforms import TRICKY_SECRETS, basic_forms, encoded_forms
from core.redaction import (
    MIN_SECRET_LENGTH,
    REDACTED,
    Redactor,
    redact,
    redact_values,
    redacted_excerpt,
)

FORMS = [
    pytest.param(secret, form, id=f"{n}-{name}")
    for n, secret in enumerate(TRICKY_SECRETS)
    for name, form in encoded_forms(secret).items()
]


@pytest.mark.parametrize(("secret", "form"), FORMS)
def test_a_registered_secret_is_redacted_in_every_encoding(secret: str, form: str) -> None:
    redact = Redactor([secret])
    assert redact(f"the proxy said: {form} (end)") == "the proxy said: *** (end)"
    assert redact(f"{form}{form}") == "******"


@pytest.mark.parametrize(
    ("user", "secret"), [("3MVG9.client-id", TRICKY_SECRETS[0]), ("app id/ü", TRICKY_SECRETS[1])]
)
def test_an_http_basic_pair_is_redacted_once_registered(user: str, secret: str) -> None:
    redact = Redactor([secret])
    forms = basic_forms(user, secret)
    # The secret's own base64 does not give the pair's away: registering the pair does.
    assert all(REDACTED not in redact(f"Basic-ish {form}") for form in forms.values())
    redact.add_basic(user, secret)
    for name, form in forms.items():
        assert redact(f"auth {form} end") == "auth *** end", name


def test_a_secret_containing_another_is_redacted_whole() -> None:
    redact = Redactor(["pä+ss", "pä+ss/w=rd%&#!ü"])
    assert redact("a p%C3%A4%2Bss%2Fw%3Drd%25%26%23%21%C3%BC b pä+ss c") == "a *** b *** c"


def test_a_concatenation_registered_as_one_secret_is_redacted_in_base64() -> None:
    password, token = "pä+ss/w=rd%&#!ü", "Tok3n!é"
    concatenated = base64.b64encode((password + token).encode()).decode()
    redact = Redactor([password, token])
    assert REDACTED not in redact(concatenated)
    redact.add([password + token])
    assert redact(f"[{concatenated}]") == "[***]"


def test_short_values_and_non_text_are_not_registered() -> None:
    redact = Redactor(["abc", None, 1234])  # type: ignore[list-item]
    assert redact("abc 1234 abc") == "abc 1234 abc"
    assert MIN_SECRET_LENGTH == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Form bodies and query strings, also URL-encoded inside another string.
        ("grant_type=password&client_id=3MVG9&client_secret=x%2By%3D&username=u%40x.com"
         "&password=p%C3%A4ss",
         "grant_type=password&client_id=3MVG9&client_secret=***&username=u%40x.com"
         "&password=***"),
        ("url: /token?password=p%C3%A4%2Bss%26w&user=ann", "url: /token?password=***&user=ann"),
        ("GET /token?access_token=abc.def-ghi&x=1 (Caused by ProxyError)",
         "GET /token?access_token=***&x=1 (Caused by ProxyError)"),
        ("next=%2Ftoken%3Frefresh_token%3Dr1-xyz%26scope%3Dapi",
         "next=%2Ftoken%3Frefresh_token%3D***%26scope%3Dapi"),
        ("body=grant_type%3Dpassword%26password%3Dp%25C3%25A4%26security_token%3DT0k",
         "body=grant_type%3Dpassword%26password%3D***%26security_token%3D***"),
        ("assertion=eyJhbGciOi.eyJpc3Mi.c2ln&client_assertion=eyJ0eXAi.x.y",
         "assertion=***&client_assertion=***"),
        ("id_token=eyJ.a.b; PASSWORD=Hunter22", "id_token=***; PASSWORD=***"),
        # JSON, a Python repr, JSON escaped inside a JSON string, JSON URL-encoded.
        ('{"password": "p\\u00e4 \\"quoted\\"", "client_secret": "cs", "user": "ann"}',
         '{"password": "***", "client_secret": "***", "user": "ann"}'),
        ("{'access_token': '00D!AQ4', 'instance_url': 'https://x'}",
         "{'access_token': '***', 'instance_url': 'https://x'}"),
        ('{"error_description": "echo {\\"refresh_token\\": \\"5Aep8\\"}"}',
         '{"error_description": "echo {\\"refresh_token\\": \\"***\\"}"}'),
        ("q=%7B%22id_token%22%3A%22eyJ.a.b%22%7D", "q=%7B%22id_token%22%3A%22***%22%7D"),
        # Authorization headers: the scheme stays, the credential goes.
        ("Authorization: Bearer 00D5e000!AQ4Ab.cd\r\nHost: x",
         "Authorization: Bearer ***\r\nHost: x"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': '*/*'}",
         "{'Authorization': 'Basic ***', 'Accept': '*/*'}"),
        ('"authorization": "Bearer eyJ0.eyJ1.c2"', '"authorization": "Bearer ***"'),
        ("authorization=Bearer%20abc123&x=1", "authorization=Bearer%20***&x=1"),
        ("AUTHORIZATION: sk-live-9f8e7d", "AUTHORIZATION: ***"),
    ],
)
def test_credential_values_are_redacted_by_their_key(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


ORDINARY = [
    "set password of connection 'crm' to the one the CRM expects",
    "error: connections.yaml:7 crm.password: environment variable SF_PASSWORD is not set",
    "INVALID_LOGIN: Invalid username, password, security token; or user locked out.",
    "token request answered HTTP 400: the password grant is not enabled",
    "grant_type=password&client_id=3MVG9sandbox.syncline.demo.client.id&username=a%40b.com",
    'Bearer error="invalid_token", error_description="The token is expired", '
    "authorization_uri=https://login.microsoftonline.com/t/oauth2/authorize",
    "Authorization failed for user ann@example.com",
    "new_password=n3w and passwords=2 are not ours; password_url=https://x/reset is a link",
    "check client_id and client_secret; private_key is not a usable RSA private key",
    "Lead 00Q5e000001AbCd: Email: invalid email address: ann@@example",
    "ünïcödé, 100% & <tags> stay; so does \"quoted\" text and a+b=c/d",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_untouched(text: str) -> None:
    redact = Redactor(TRICKY_SECRETS)
    redact.add_basic("3MVG9.client-id", TRICKY_SECRETS[0])
    assert redact(text) == text


def test_an_excerpt_is_cut_after_redaction() -> None:
    secret = "pä+ss/w=rd%&#!ü-excerpt"
    redact.add([secret])
    text = "x" * 20 + secret + "y" * 20
    assert redacted_excerpt(text, 30) == "x" * 20 + "***" + "y" * 6 + "…"
    # Cut first, the head of the secret would stay, and no longer be recognisable.
    assert redacted_excerpt(text, 24) == "x" * 20 + "***…"


def test_values_inside_structures_are_redacted() -> None:
    redact.add(["nested-secret-4e1f"])
    payload = {"a": ["x nested-secret-4e1f", {"b": "password=abc"}], "n": 3,
               "t": ("nested-secret-4e1f",)}
    assert redact_values(payload) == {"a": ["x ***", {"b": "password=***"}], "n": 3,
                                      "t": ["***"]}


def test_a_rotating_token_keeps_the_latest_two_and_forgets_older_ones() -> None:
    redactor = Redactor(["permanent-secret"])
    tokens = [f"00Dxx!token-{n:04d}.abcdef" for n in range(50)]
    for token in tokens:
        redactor.rotate("salesforce:https://org.example", token)
    shown = redactor(" ".join(tokens) + " permanent-secret")
    words = shown.split()
    assert words[-3:] == ["***", "***", "***"], "the two latest tokens and the registered secret"
    assert words[:48] == tokens[:48], "older tokens no longer cost a pattern each"
    fresh = Redactor(["permanent-secret"])
    for token in tokens[-2:]:
        fresh.rotate("salesforce:https://org.example", token)
    assert redactor._pattern is not None and fresh._pattern is not None
    assert redactor._pattern.pattern == fresh._pattern.pattern, "the pattern does not grow"


def test_rotating_one_slot_leaves_another_slot_and_registered_secrets_alone() -> None:
    redactor = Redactor()
    redactor.add(["shared-value-1"])
    redactor.rotate("a", "shared-value-1")
    for n in range(5):
        redactor.rotate("a", f"slot-a-value-{n}")
    redactor.rotate("b", "slot-b-value")
    assert redactor("shared-value-1 slot-b-value slot-a-value-4") == "*** *** ***"
