"""Secret redaction: registered secrets in every encoding they travel in, credentials by key.

A secret reaches text in more shapes than its own: URL-encoded in a form body or a query
string (either hex case, ``+`` for a space, encoded twice when a URL sits inside another),
JSON-escaped in an echoed body, HTML-escaped on a page, base64 in an HTTP Basic header. Every
shape of every registered secret is one alternative of one regular expression, built when the
secret is registered, longest first so a secret containing another is replaced whole.

Independently of registration, the value of any ``Authorization`` header and of parameters
named like credentials (``password=…``, ``"client_secret": "…"``) is replaced too, so a
secret nobody registered (a proxy's, a token minted elsewhere) does not show either.
"""

from __future__ import annotations

import base64
import json
import re
import string
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus

#: What a secret, or a credential's value, is replaced with.
REDACTED = "***"
#: Shorter values are ignored: blanking every 3-letter word that happens to be a password
#: would make text unreadable, and such a value protects nothing anyway.
MIN_SECRET_LENGTH = 4

#: ASCII characters no URL or JSON encoder changes: only their raw form needs matching.
_PLAIN = frozenset(string.ascii_letters + string.digits + "-._~")
#: How HTML escapes a character (markupsafe's numeric references and the named ones).
_HTML = {
    "&": ("&amp;",),
    "<": ("&lt;",),
    ">": ("&gt;",),
    '"': ("&#34;", "&quot;"),
    "'": ("&#39;", "&#x27;"),
}


def _hex(digits: str) -> str:
    """A pattern for hex digits in either case: ``c3`` → ``[cC]3``."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char(ch: str) -> str:
    """Every way one character of a secret is written: raw, %XX, %25XX, JSON, HTML.

    Longer forms first: alternatives are tried in order, and ``%`` alone would otherwise
    match the start of ``%25`` and leave the rest of it standing.
    """
    if ch in _PLAIN:
        return re.escape(ch)
    octets = [f"{byte:02x}" for byte in ch.encode("utf-8")]
    options = [
        "".join("%25" + _hex(octet) for octet in octets),
        "".join("%" + _hex(octet) for octet in octets),
    ]
    escaped = json.dumps(ch)[1:-1]  # ensure_ascii: \u00fc, or a surrogate pair
    if escaped.startswith("\\u"):
        options.append("".join(r"\\u" + _hex(unit) for unit in escaped.split("\\u")[1:]))
    elif escaped != ch:  # \" \\ \n ...
        options.append(re.escape(escaped))
    if ch == "/":
        options.append(r"\\/")  # JSON may escape the solidus
    if ch == " ":
        options += [r"%2[bB]", r"\+"]  # form encoding (quote_plus), URL-encoded again or not
    options += [re.escape(entity) for entity in _HTML.get(ch, ())]
    options.append(re.escape(ch))
    return "(?:" + "|".join(options) + ")"


#: Base64 characters as standard or URL-safe base64 write them, raw, escaped or URL-encoded.
_BASE64_CHARS = {
    "+": r"(?:\+|-|%2[bB])",
    "/": r"(?:/|_|\\/|%2[fF])",
}


def _base64(text: str) -> dict[str, int]:
    """``text`` in standard or URL-safe base64, padded or not, each with its length.

    Of its UTF-8 bytes, and of its Latin-1 ones where it has them: requests encodes HTTP
    Basic credentials as Latin-1.
    """
    forms: dict[str, int] = {}
    for encoding in ("utf-8", "latin-1"):
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        encoded = base64.b64encode(data).decode("ascii")
        pattern = "".join(_BASE64_CHARS.get(c, c) for c in encoded.rstrip("="))
        forms[pattern + "(?:=|%3[dD]){0,2}"] = len(encoded)
    return forms


def _forms(secret: str) -> dict[str, int]:
    """The patterns of a secret's shapes, each with the length it sorts by."""
    return {"".join(_char(ch) for ch in secret): len(secret), **_base64(secret)}


#: How many values of a rotating secret stay redacted: the current one and the one before,
#: which a request still in flight (or its error) may carry.
KEEP_ROTATED = 2


class Redactor:
    """Replaces registered secrets, in all their encodings, and credential values by key."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        #: Pattern of each shape → the length it is ordered by (longest first), per source:
        #: a registered secret, an HTTP Basic pair, or a rotating slot's value.
        self._forms: dict[object, dict[str, int]] = {}
        #: Slot → its latest values, newest last (access tokens replaced at every refresh).
        self._rotated: dict[str, list[str]] = {}
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register secret values for good (shorter than MIN_SECRET_LENGTH: ignored)."""
        wanted = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        with self._lock:
            added = wanted - self._forms.keys()
            if not added:
                return
            for secret in added:
                self._forms[secret] = _forms(secret)
            self._compile()

    def add_basic(self, user: str, secret: str) -> None:
        """Register ``base64(user:secret)``, the credential of an HTTP Basic header.

        Both as the pair is and form-encoded first, as OAuth clients send it (RFC 6749
        section 2.3.1). Its base64 cannot be found from the secret's own: it depends on
        what precedes the secret.
        """
        if not user or not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        key = ("basic", user, secret)
        with self._lock:
            if key in self._forms:
                return
            pairs = {f"{user}:{secret}", f"{quote_plus(user)}:{quote_plus(secret)}"}
            self._forms[key] = {k: v for pair in pairs for k, v in _base64(pair).items()}
            self._compile()

    def rotate(self, slot: str, value: str) -> None:
        """Register ``value`` as the newest value of ``slot`` (a connection's access token).

        Older values beyond KEEP_ROTATED are forgotten: a scheduler refreshing a token every
        cycle for months must not grow the pattern (and the time every log line takes) by
        one secret per cycle.
        """
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            values = self._rotated.setdefault(slot, [])
            if value in values:
                return
            values.append(value)
            self._forms[("rotated", slot, value)] = _forms(value)
            for old in values[:-KEEP_ROTATED]:
                del self._forms[("rotated", slot, old)]
            del values[:-KEEP_ROTATED]
            self._compile()

    def _compile(self) -> None:
        merged: dict[str, int] = {}
        for forms in self._forms.values():
            merged.update(forms)
        ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
        self._pattern = re.compile("|".join(pattern for pattern, _ in ordered)) if ordered else None

    def __call__(self, text: str) -> str:
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return redact_credentials(text)


# -- credentials found by their key -----------------------------------------------------------

#: Parameters whose value is a credential wherever they appear (form, query, JSON).
CREDENTIAL_KEYS = (
    "access_token", "refresh_token", "id_token", "client_secret", "client_assertion",
    "assertion", "security_token", "password", "api_key", "private_key",
)  # fmt: skip


def _spellings(*names: str) -> str:
    """Names as written in lower, upper or capitalised case, longest first.

    Listed rather than matched case-insensitively: a branch of plain literals is several
    times faster to search for, and this runs on every log value and shown message.
    """
    spelled = {form for name in names for form in (name, name.upper(), name.capitalize())}
    return "(?:" + "|".join(sorted(spelled, key=lambda s: (-len(s), s))) + ")"


_KEY = _spellings(*CREDENTIAL_KEYS)
_AUTH_KEY = _spellings("authorization")
#: ``=`` as it is, URL-encoded, or encoded twice; a value ends at ``&`` in the same forms.
_EQUALS = r"(?:=|%3[dD]|%253[dD])"
_NOT_AMP = r"(?!%26|%2526)"
_VALUE_CHAR = r"[^&\s\"'<>\\,;]"
#: HTTP authentication schemes, kept in front of a redacted Authorization value.
_SCHEME = r"(?i:Bearer|Basic|Digest|OAuth|Negotiate|NTLM|Token|ApiKey|SharedKey)"
_SPACE = r"(?:[ \t]+|%20|%2520|\+)"

#: ``password=value`` in a form body or query string, or in one URL-encoded once or twice
#: inside another string. The value ends at ``&`` encoded as often as the ``=`` before it:
#: a ``%26`` after a plain ``=`` is part of the value. An encoder escapes ``, ;`` in a
#: value: raw, they end it, as in prose or a cookie header.
_PARAMETER = re.compile(
    rf"(?P<key>{_KEY})(?:=(?P<value>{_VALUE_CHAR}+)"
    rf"|%3[dD](?P<value1>(?:(?!%26){_VALUE_CHAR})+)"
    rf"|%253[dD](?P<value2>(?:(?!%2526){_VALUE_CHAR})+))"
)
#: ``"password": "value"`` in JSON or a Python repr, also escaped inside another JSON string
#: (``\"password\": \"value\"``) or URL-encoded (``%22password%22%3A%22value%22``).
_QUOTED = re.compile(
    rf"(?P<q>\\*[\"']|%22|%27)(?P<key>{_KEY}|{_AUTH_KEY})(?P=q)"
    rf"(?P<sep>(?:\s|%20)*(?::|%3[aA])(?:\s|%20)*)(?P=q)(?P<scheme>{_SCHEME}{_SPACE})?"
    r"(?P<value>(?s:\\.|[^\\])+?)(?P=q)"
)
#: ``Authorization: Bearer value`` as a header line, or ``authorization=Basic%20value``.
_AUTHORIZATION = re.compile(
    rf"(?P<key>{_AUTH_KEY})(?P<sep>[ \t]*(?::|{_EQUALS}|%3[aA])(?:[ \t]|%20)*)"
    rf"(?P<scheme>{_SCHEME}{_SPACE})?(?P<value>(?:{_NOT_AMP}[^\s\"'&<>\\,;])+)"
)
#: What may come right before an unquoted name: anything but a name's character, or an
#: encoded ``&``, ``?`` or quote when a query string is itself URL-encoded.
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_ENCODED_SEPARATORS = ("%26", "%3f", "%22", "%27")
#: Words one of which every text with a credential key contains (a cheap test first).
_KEY_WORDS = ("password", "secret", "_token", "assertion", "authorization", "_key")


def _starts_a_name(text: str, start: int) -> bool:
    """Whether an unquoted name found at ``start`` is a whole name (not ``new_password``)."""
    if start == 0 or not _NAME_CHAR.match(text, start - 1):
        return True
    return text[max(start - 3, 0) : start].lower() in _ENCODED_SEPARATORS


_VALUE_GROUPS = ("value", "value1", "value2")


def _keep_key(match: re.Match[str]) -> str:
    """The match with only its value replaced."""
    if match.re is not _QUOTED and not _starts_a_name(match.string, match.start()):
        return match.group(0)
    offset = match.start()
    value = next(name for name in _VALUE_GROUPS if match.re.groupindex.get(name)
                 and match.group(name) is not None)
    start, end = match.span(value)
    whole = match.group(0)
    return whole[: start - offset] + REDACTED + whole[end - offset :]


def redact_credentials(text: str) -> str:
    """Replace the values of credential-named parameters and Authorization headers.

    The key stays, so the text still says what was there: ``password=***``,
    ``"client_secret": "***"``, ``Authorization: Bearer ***``. Prose that merely names a
    credential ("set password of connection 'crm'") has no value to replace and is kept.
    """
    lowered = text.lower()
    if not any(word in lowered for word in _KEY_WORDS):
        return text
    if "'" in text or '"' in text or "%2" in text:
        text = _QUOTED.sub(_keep_key, text)
    text = _PARAMETER.sub(_keep_key, text)
    if "authorization" in lowered:
        text = _AUTHORIZATION.sub(_keep_key, text)
    return text


#: Process-wide redactor: the connections loader, the connectors and their token requests
#: register every secret they hold; logs, stored errors and runs, the CLI, the dashboard and
#: alerts pass text through it.
redact = Redactor()


def redacted_excerpt(text: str, limit: int) -> str:
    """``text`` redacted, then cut to ``limit`` characters with an ellipsis.

    In that order: a secret cut in two is no longer recognised, and half a secret is a leak.
    """
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_values(value: Any) -> Any:
    """``value`` with every string in it (in lists and dicts too) passed through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [redact_values(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_values(item) for key, item in value.items()}
    return value
