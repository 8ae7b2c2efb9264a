"""Every shape a secret can take in text, and a hunt for them: the one helper leak tests use.

Written independently of core.redaction: the shapes are produced the way the encoders that
carry a secret produce them (urllib, json, base64, an HTML escaper), not the way the redactor
looks for them.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

import markupsafe

#: Secrets with every character an encoder treats specially: URL (``+ / = % & # !``, a
#: space), JSON (a quote, a backslash), HTML (``& < > "``), non-ASCII and outside the BMP.
TRICKY_SECRETS = ("pä+ss/w=rd%&#!ü", 'top "secret" <x> \\ 🔑 100%')


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def encoded_forms(secret: str) -> dict[str, str]:
    """The secret as each encoding writes it, by the encoding's name."""
    forms = {"raw": secret}
    for safe in ("", "/"):
        for name, encode in (("quote", quote), ("quote_plus", quote_plus)):
            encoded = encode(secret, safe=safe)
            forms[f"{name}(safe={safe!r})"] = encoded
            forms[f"{name}(safe={safe!r}), lower-case hex"] = _lower_hex(encoded)
    forms["URL-encoded twice"] = quote(quote_plus(secret, safe=""), safe="")
    for ascii_only in (True, False):
        dumped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms[f"JSON(ensure_ascii={ascii_only})"] = dumped
        forms[f"JSON(ensure_ascii={ascii_only}), \\/"] = dumped.replace("/", "\\/")
        forms[f"JSON(ensure_ascii={ascii_only}), upper-case \\u"] = re.sub(
            r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), dumped)
    forms.update(_base64_forms("", secret))
    forms["HTML (html.escape)"] = html.escape(secret)
    forms["HTML (markupsafe)"] = str(markupsafe.escape(secret))
    return forms


def basic_forms(user: str, secret: str) -> dict[str, str]:
    """``base64(user:secret)`` as HTTP Basic headers carry it (RFC 7617, RFC 6749 2.3.1)."""
    forms = _base64_forms("Basic ", f"{user}:{secret}")
    forms.update(_base64_forms("Basic form-encoded ", f"{quote_plus(user)}:{quote_plus(secret)}"))
    return forms


def _base64_forms(prefix: str, text: str) -> dict[str, str]:
    forms: dict[str, str] = {}
    # requests encodes Basic credentials as Latin-1; everything else sends UTF-8.
    for encoding in ("utf-8", "latin-1"):
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        encoders = (("base64", base64.b64encode), ("urlsafe base64", base64.urlsafe_b64encode))
        for name, encode in encoders:
            encoded = encode(data).decode("ascii")
            forms[f"{prefix}{name} ({encoding})"] = encoded
            forms[f"{prefix}{name} ({encoding}), unpadded"] = encoded.rstrip("=")
    return forms


def leaks(places: Mapping[str, str], secrets: Mapping[str, str],
          pairs: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Every ``place: secret name as form`` where a form of a secret shows; [] when none.

    ``places`` maps where text came from (a command, a page, a table) to the text; ``secrets``
    names each secret; ``pairs`` are (user, secret) pairs also hunted as HTTP Basic.
    """
    hunted = [(name, form, text) for name, secret in secrets.items()
              for form, text in encoded_forms(secret).items()]
    hunted += [(f"Basic {user}", form, text) for user, secret in pairs
               for form, text in basic_forms(user, secret).items()]
    return [f"{place}: {name} as {form}" for place, shown in places.items()
            for name, form, text in hunted if text in shown]
