"""Inbound webhook signatures: Standard Webhooks, Stripe's scheme, and a plain body HMAC.

A source names its scheme and one or more secrets (several while a secret is being rotated).
Each scheme signs the raw body as received: re-serialising parsed JSON would change the bytes.

- ``standard`` (Standard Webhooks): headers ``webhook-id``, ``webhook-timestamp`` (Unix
  seconds) and ``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256 of
  "{id}.{timestamp}.{body}">``; the secret is ``whsec_`` + base64 of the key bytes.
- ``stripe``: header ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">``, with
  several ``v1`` while a secret rolls; the secret string itself is the key.
- ``hmac_sha256``: the hex HMAC-SHA256 of the body in a header the source names (optionally
  prefixed ``sha256=``). It carries no time, so it cannot be checked for staleness.

Timestamps more than five minutes old or ahead are refused, and every comparison is
constant-time. Errors say what is wrong in words safe to show a sender: never a secret, never
the expected signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Scheme = Literal["standard", "stripe", "hmac_sha256"]
SCHEMES: tuple[Scheme, ...] = ("standard", "stripe", "hmac_sha256")
#: How far a signed timestamp may be from our clock, either way (Standard Webhooks and
#: Stripe both use five minutes).
TOLERANCE_SECONDS = 300
#: The header of ``hmac_sha256`` sources that name none.
DEFAULT_HMAC_HEADER = "X-Signature"
STANDARD_PREFIX = "whsec_"


class SignatureError(ValueError):
    """The request's signature is missing, malformed, stale or matches no secret."""


class StaleSignatureError(SignatureError):
    """The signed time is outside the tolerance: an old request replayed, or a wrong clock."""


@dataclass(frozen=True, slots=True)
class Verified:
    """What a verified request's headers say: its event id and signed time, where given."""

    event_id: str | None
    timestamp: int | None


def standard_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret; ValueError when it is not one."""
    encoded = secret.removeprefix(STANDARD_PREFIX)
    try:
        # Accept the unpadded base64 some providers show.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("the Standard Webhooks secret is empty")
    return key


def verify(
    scheme: Scheme,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    *,
    header: str = DEFAULT_HMAC_HEADER,
) -> Verified:
    """Check ``body`` and ``headers`` against any of ``secrets``; raises SignatureError."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if scheme == "standard":
        return _verify_standard(secrets, lowered, body, now)
    if scheme == "stripe":
        return _verify_stripe(secrets, lowered, body, now)
    return _verify_hmac(secrets, lowered, body, header.lower())


def sign(
    scheme: Scheme,
    secret: str,
    body: bytes,
    *,
    event_id: str,
    timestamp: int,
    header: str = DEFAULT_HMAC_HEADER,
) -> dict[str, str]:
    """The headers a sender using ``scheme`` would add (``syncline hooks send`` uses them)."""
    if scheme == "standard":
        digest = _hmac(standard_key(secret), f"{event_id}.{timestamp}.".encode() + body)
        return {"webhook-id": event_id, "webhook-timestamp": str(timestamp),
                "webhook-signature": "v1," + base64.b64encode(digest).decode()}
    if scheme == "stripe":
        digest = _hmac(secret.encode(), f"{timestamp}.".encode() + body)
        return {"Stripe-Signature": f"t={timestamp},v1={digest.hex()}"}
    return {header: "sha256=" + _hmac(secret.encode(), body).hex()}


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _fresh(value: str | None, now: float, name: str) -> int:
    """The signed time as an int, if it is within the tolerance of ``now``."""
    if not value or not value.strip().isdigit():
        raise SignatureError(f"{name} is missing or not a Unix time in seconds")
    stamp = int(value.strip())
    if stamp < now - TOLERANCE_SECONDS:
        raise StaleSignatureError(f"{name} is more than {TOLERANCE_SECONDS} s old")
    if stamp > now + TOLERANCE_SECONDS:
        raise StaleSignatureError(f"{name} is more than {TOLERANCE_SECONDS} s ahead")
    return stamp


def _any_matches(expected: Sequence[bytes], given: Sequence[bytes]) -> bool:
    # Every pair is compared, so the time taken says nothing about which one matched.
    matched = False
    for mine in expected:
        for theirs in given:
            matched |= hmac.compare_digest(mine, theirs)
    return matched


def _verify_standard(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: float
) -> Verified:
    event_id = headers.get("webhook-id", "").strip()
    if not event_id:
        raise SignatureError("webhook-id is missing")
    stamp = _fresh(headers.get("webhook-timestamp"), now, "webhook-timestamp")
    given: list[bytes] = []
    for entry in headers.get("webhook-signature", "").split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # v1a (asymmetric) and later versions: not ours to check
        try:
            given.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not given:
        raise SignatureError("webhook-signature holds no v1 signature")
    signed = f"{event_id}.{stamp}.".encode() + body
    if not _any_matches([_hmac(standard_key(s), signed) for s in secrets], given):
        raise SignatureError("no v1 signature in webhook-signature matches the secret")
    return Verified(event_id, stamp)


def _verify_stripe(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: float
) -> Verified:
    parts = [p.partition("=") for p in headers.get("stripe-signature", "").split(",")]
    stamps = [value for key, _, value in parts if key.strip() == "t"]
    given = [value.strip() for key, _, value in parts if key.strip() == "v1"]
    if len(stamps) != 1 or not given:
        raise SignatureError("Stripe-Signature should read t=<unix time>,v1=<signature>")
    stamp = _fresh(stamps[0], now, "the Stripe-Signature time")
    signed = f"{stamp}.".encode() + body
    expected = [_hmac(s.encode(), signed).hex().encode() for s in secrets]
    if not _any_matches(expected, [g.lower().encode() for g in given]):
        raise SignatureError("no v1 signature in Stripe-Signature matches the secret")
    return Verified(None, stamp)


def _verify_hmac(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, header: str
) -> Verified:
    value = headers.get(header, "").strip()
    if not value:
        raise SignatureError(f"the {header} header is missing")
    given = value.removeprefix("sha256=").strip().lower().encode()
    expected = [_hmac(s.encode(), body).hex().encode() for s in secrets]
    if not _any_matches(expected, [given]):
        raise SignatureError(f"the {header} signature does not match the secret")
    return Verified(None, None)
