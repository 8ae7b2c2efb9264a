"""Signatures as each scheme's senders compute them, checked by the verifier.

Every signed header here is built by hand from the scheme's published formula (Standard
Webhooks: base64 HMAC-SHA256 of ``id.timestamp.body`` under the base64-decoded ``whsec_`` key;
Stripe: hex HMAC-SHA256 of ``t.body`` under the secret string), not by ``inbound.signatures.sign``,
so the verifier is held to the schemes rather than to itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from inbound.signatures import SignatureError, sign, standard_key, verify

KEY = b"syncline-forms-test-key-0123456789"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the-previous-key-9876543210").decode()
BODY = b'{"email":"ann@acme.com","form":"demo-request"}'
NOW = 1_767_000_000


def standard_headers(key: bytes, event_id: str = "msg_1", stamp: int = NOW,
                     body: bytes = BODY) -> dict[str, str]:
    digest = hmac.new(key, f"{event_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"Webhook-Id": event_id, "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": "v1," + base64.b64encode(digest).decode()}


def stripe_header(secret: str, stamp: int = NOW, body: bytes = BODY) -> str:
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def test_a_standard_webhook_verifies_with_its_id_and_time() -> None:
    verified = verify("standard", [SECRET], standard_headers(KEY), BODY, NOW + 10)
    assert (verified.event_id, verified.timestamp) == ("msg_1", NOW)


def test_standard_accepts_any_listed_signature_and_any_configured_secret() -> None:
    # The sender rotates: it signs with the old and the new key; we hold either.
    old = standard_headers(base64.b64decode(OLD_SECRET.removeprefix("whsec_")))
    new = standard_headers(KEY)
    both = {**new, "Webhook-Signature": f"{old['Webhook-Signature']} v1a,AAAA "
                                        f"{new['Webhook-Signature']}"}
    assert verify("standard", [SECRET], both, BODY, NOW).event_id == "msg_1"
    assert verify("standard", [OLD_SECRET, SECRET], new, BODY, NOW).event_id == "msg_1"


@pytest.mark.parametrize(("change", "message"), [
    ({"Webhook-Id": ""}, "webhook-id is missing"),
    ({"Webhook-Timestamp": "soon"}, "webhook-timestamp is missing or not a Unix time in seconds"),
    ({"Webhook-Timestamp": str(NOW - 301)}, "webhook-timestamp is more than 300 s old"),
    ({"Webhook-Timestamp": str(NOW + 301)}, "webhook-timestamp is more than 300 s ahead"),
    ({"Webhook-Signature": "v2,abc"}, "webhook-signature holds no v1 signature"),
    ({"Webhook-Id": "msg_2"}, "no v1 signature in webhook-signature matches the secret"),
])
def test_standard_refusals_say_what_is_wrong(change: dict[str, str], message: str) -> None:
    headers = {**standard_headers(KEY), **change}
    with pytest.raises(SignatureError) as caught:
        verify("standard", [SECRET], headers, BODY, NOW)
    assert str(caught.value) == message


def test_one_changed_byte_of_the_body_fails_every_scheme() -> None:
    tampered = BODY.replace(b"ann", b"eve")
    with pytest.raises(SignatureError):
        verify("standard", [SECRET], standard_headers(KEY), tampered, NOW)
    with pytest.raises(SignatureError):
        verify("stripe", ["whsec_stripe"], {"Stripe-Signature": stripe_header("whsec_stripe")},
               tampered, NOW)
    hexed = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError):
        verify("hmac_sha256", ["s3cret"], {"X-Signature": hexed}, tampered, NOW)


def test_stripe_signatures_and_their_roll() -> None:
    header = stripe_header("whsec_new") + "," + stripe_header("whsec_old").split(",")[1]
    verified = verify("stripe", ["whsec_old"], {"stripe-signature": header}, BODY, NOW)
    assert (verified.event_id, verified.timestamp) == (None, NOW)
    with pytest.raises(SignatureError, match="more than 300 s old"):
        verify("stripe", ["whsec_new"],
               {"Stripe-Signature": stripe_header("whsec_new", stamp=NOW - 400)}, BODY, NOW)
    with pytest.raises(SignatureError, match="should read t=<unix time>,v1=<signature>"):
        verify("stripe", ["whsec_new"], {"Stripe-Signature": "v1=abc"}, BODY, NOW)


def test_a_plain_hmac_in_the_sources_own_header() -> None:
    hexed = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    for value in (hexed, "sha256=" + hexed, hexed.upper()):
        verify("hmac_sha256", ["s3cret"], {"X-Forms-Signature": value}, BODY, NOW,
               header="X-Forms-Signature")
    with pytest.raises(SignatureError) as caught:
        verify("hmac_sha256", ["s3cret"], {}, BODY, NOW, header="X-Forms-Signature")
    assert str(caught.value) == "the x-forms-signature header is missing"


def test_sign_makes_what_verify_takes_for_every_scheme() -> None:
    for scheme, secret in (("standard", SECRET), ("stripe", "whsec_x"), ("hmac_sha256", "k")):
        headers = sign(scheme, secret, BODY, event_id="msg_9", timestamp=NOW)  # type: ignore[arg-type]
        verify(scheme, [secret], headers, BODY, NOW)  # type: ignore[arg-type]
    assert sign("standard", SECRET, BODY, event_id="msg_1", timestamp=NOW) == {
        k.lower(): v for k, v in standard_headers(KEY).items()}


def test_refusals_never_show_a_secret_or_the_expected_signature() -> None:
    headers = {**standard_headers(KEY), "Webhook-Id": "msg_2"}
    expected = standard_headers(KEY, event_id="msg_2")["Webhook-Signature"]
    with pytest.raises(SignatureError) as caught:
        verify("standard", [SECRET], headers, BODY, NOW)
    assert SECRET not in str(caught.value) and expected[3:] not in str(caught.value)


def test_a_secret_that_is_not_whsec_base64_is_named() -> None:
    assert standard_key("whsec_" + base64.b64encode(b"k").decode().rstrip("=")) == b"k"
    for bad in ("whsec_", "whsec_***"):
        with pytest.raises(ValueError):
            standard_key(bad)
