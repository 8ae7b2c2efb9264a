"""Named value transforms for field rows, and the compiler that turns a row into two pipelines.

A transform has a ``forward`` (hub → remote) and a ``backward`` (remote → hub) step. Every
transform lets ``None`` through untouched and turns a blank string into ``None``, so "no value"
has exactly one spelling on both sides. A transform is *reversible* when a round trip is stable
(``forward(backward(forward(x))) == forward(x)``); only reversible transforms may sit on a row
that both pushes and pulls.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

import phonenumbers
import pycountry

from core.values import blank
from mappings.expressions import Expression

if TYPE_CHECKING:
    from mappings.spec import FieldMap


class TransformError(Exception):
    """A value a transform cannot handle; names the transform, the value and why."""

    def __init__(self, transform: str, value: Any, reason: str) -> None:
        super().__init__(f"{transform}: {value!r} {reason}")
        self.transform = transform
        self.value = value
        self.reason = reason


Step = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Transform:
    """One configured transform: a name, whether it is reversible, and its two steps."""

    name: str
    reversible: bool
    _forward: Step
    _backward: Step

    def forward(self, value: Any) -> Any:
        """Hub value → remote value (None and blank strings become None)."""
        value = _blank_to_none(value)
        # Blank out as well as in: truncating '  x' to 1 leaves nothing worth sending.
        return None if value is None else _blank_to_none(self._forward(value))

    def backward(self, value: Any) -> Any:
        """Remote value → hub value (None and blank strings become None)."""
        value = _blank_to_none(value)
        return None if value is None else _blank_to_none(self._backward(value))


def _blank_to_none(value: Any) -> Any:
    return None if blank(value) else value


def _identity(value: Any) -> Any:
    return value


# --- normalisers -------------------------------------------------------------------------------


def _string_op(op: Callable[[str], str]) -> Step:
    # Non-strings (numbers, booleans) are not text to normalise: leave them alone.
    return lambda value: op(value) if isinstance(value, str) else value


def _title(text: str) -> str:
    # str.title is not idempotent for a few Greek letters with ypogegrammeni ("ᾷ"): repeat
    # until it settles (twice is enough in practice) so the round trip is stable.
    for _ in range(3):
        text, before = text.title(), text
        if text == before:
            break
    return text


def _normaliser(name: str, op: Callable[[str], str]) -> Callable[[Any], Transform]:
    def factory(arg: Any = None) -> Transform:
        _no_argument(name, arg)
        step = _string_op(op)
        # The same normalisation both ways: an idempotent projection round-trips stably.
        return Transform(name, True, step, step)

    return factory


# --- phone numbers -----------------------------------------------------------------------------


def _phone_e164(arg: Any = None) -> Transform:
    region = "US" if arg is None else arg
    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"phone_e164: {region!r} is not a region code (e.g. US, GB, DE)")
    region = region.upper()

    def normalise(value: Any) -> str:
        text = str(value).strip()
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise TransformError("phone_e164", value, "is not a phone number") from None
        # "Possible" (right length for the country) rather than "valid" (an allocated range):
        # CRM data is full of real numbers in ranges newer than the bundled metadata.
        if not phonenumbers.is_possible_number(number):
            raise TransformError("phone_e164", value, "is not a phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    return Transform("phone_e164", True, normalise, normalise)


# --- countries ---------------------------------------------------------------------------------

#: Spellings people type that ISO 3166 (and so pycountry) does not know.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "russia": "RU",
    "turkey": "TR",
    "holland": "NL",
    "ivory coast": "CI",
    "macedonia": "MK",
    "palestine": "PS",
    "uae": "AE",
}


def _country(name: str, value: Any) -> Any:
    text = str(value).strip()
    code = _COUNTRY_ALIASES.get(text.lower())
    try:
        # lookup() matches alpha-2, alpha-3, numeric, name, official and common names,
        # case-insensitively.
        return pycountry.countries.lookup(code or text)
    except LookupError:
        raise TransformError(name, value, "is not a country") from None


def _country_name(arg: Any = None) -> Transform:
    _no_argument("country_name", arg)

    def to_name(value: Any) -> str:
        return _country("country_name", value).name

    return Transform("country_name", True, to_name, to_name)


def _country_code(arg: Any = None) -> Transform:
    _no_argument("country_code", arg)

    def to_code(value: Any) -> str:
        return _country("country_code", value).alpha_2

    def to_common_name(value: Any) -> str:
        country = _country("country_code", value)
        # "South Korea" reads better in a hub record than "Korea, Republic of".
        return getattr(country, "common_name", None) or country.name

    return Transform("country_code", True, to_code, to_common_name)


# --- truncate ----------------------------------------------------------------------------------


def _truncate(arg: Any = None) -> Transform:
    if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
        raise ValueError(
            f"truncate: needs a length of at least 1, e.g. {{truncate: 80}} (got {arg!r})"
        )

    def cut(value: Any) -> Any:
        return value[:arg] if isinstance(value, str) else value

    # Backward is the identity: the remote never holds more than the limit, so nothing to undo.
    return Transform("truncate", True, cut, _identity)


# --- dates and times ---------------------------------------------------------------------------

_SAMPLE = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


def _check_format(name: str, fmt: Any, *, whole_date: bool) -> str:
    if not isinstance(fmt, str) or "%" not in fmt:
        raise ValueError(f"{name}: {fmt!r} is not a strftime format (e.g. '%d/%m/%Y')")
    try:
        parsed = datetime.strptime(_SAMPLE.strftime(fmt), fmt)
    except (ValueError, re.error):  # re.error: a directive repeated ("%H %H")
        raise ValueError(f"{name}: format {fmt!r} cannot be read back") from None
    if whole_date and parsed.date() != _SAMPLE.date():
        raise ValueError(f"{name}: format {fmt!r} must include the year, month and day")
    return fmt


def _as_datetime(name: str, value: Any) -> datetime:
    """Read a hub-side value (datetime, date or ISO string) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise TransformError(name, value, "is not an ISO date or date-time") from None
    # Naive means UTC: that is how the hub stores them.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_remote(name: str, value: Any, fmt: str) -> datetime:
    """Read a remote value with ``fmt``, falling back to ISO 8601 (what most APIs return)."""
    if isinstance(value, date):
        return _as_datetime(name, value)
    text = str(value).strip()
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise TransformError(name, value, f"does not match {fmt!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _date(arg: Any = None) -> Transform:
    fmt = _check_format("date", "%Y-%m-%d" if arg is None else arg, whole_date=True)

    def forward(value: Any) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.strftime(fmt)
        return _as_datetime("date", value).strftime(fmt)

    def backward(value: Any) -> str:
        return _parse_remote("date", value, fmt).date().isoformat()

    return Transform("date", True, forward, backward)


def _datetime(arg: Any = None) -> Transform:
    fmt = _check_format("datetime", "%Y-%m-%dT%H:%M:%SZ" if arg is None else arg, whole_date=False)

    def forward(value: Any) -> str:
        return _as_datetime("datetime", value).strftime(fmt)

    def backward(value: Any) -> str:
        return _parse_remote("datetime", value, fmt).isoformat()

    return Transform("datetime", True, forward, backward)


# --- hashing -----------------------------------------------------------------------------------


def _sha256(arg: Any = None) -> Transform:
    _no_argument("sha256", arg)

    def digest(value: Any) -> str:
        # Ad platforms match hashed emails: lowercase and trimmed before hashing, by their specs.
        return hashlib.sha256(str(value).strip().lower().encode("utf-8")).hexdigest()

    def cannot_reverse(value: Any) -> Any:
        raise TransformError("sha256", value, "cannot be reversed (one-way hash)")

    return Transform("sha256", False, digest, cannot_reverse)


def _no_argument(name: str, arg: Any) -> None:
    if arg is not None:
        raise ValueError(f"{name}: takes no argument (write just '{name}')")


#: Transform name → factory taking the optional argument from ``{name: argument}``.
TRANSFORMS: dict[str, Callable[[Any], Transform]] = {
    "strip": _normaliser("strip", str.strip),
    "lower": _normaliser("lower", str.lower),
    "upper": _normaliser("upper", str.upper),
    "title": _normaliser("title", _title),
    "phone_e164": _phone_e164,
    "country_name": _country_name,
    "country_code": _country_code,
    "truncate": _truncate,
    "date": _date,
    "datetime": _datetime,
    "sha256": _sha256,
}


def make_transform(spec: str | Mapping[str, Any]) -> Transform:
    """Build a transform from a row's ``transform:`` entry: ``name`` or ``{name: argument}``.

    Raises ValueError with an admin-readable message for unknown names and bad arguments.
    """
    if isinstance(spec, str):
        name, arg = spec, None
    elif isinstance(spec, Mapping) and len(spec) == 1:
        ((name, arg),) = spec.items()
    else:
        raise ValueError("expected a transform name or {name: argument}")
    factory = TRANSFORMS.get(name)
    if factory is None:
        close = get_close_matches(str(name), TRANSFORMS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown transform {name!r} ({hint}known: {', '.join(TRANSFORMS)})")
    return factory(arg)


# --- compiling a field row ---------------------------------------------------------------------


def _lookup_key(value: Any) -> str:
    # YAML writes booleans as true/false, so a hub True should find a "true" key.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compile_row(row: FieldMap) -> None:
    """Build a row's pipelines and store them on ``row._to_remote``/``row._to_hub``/``row._expr``.

    Raises ValueError (bad transform spec) or ExpressionError (bad ``expr``); the loader
    validates both first so admins get file:line errors instead.
    """
    steps = [make_transform(spec) for spec in row.transform]
    value_map = row.value_map_written()
    inverse: dict[Any, Any] = {}
    for key, mapped in row.value_map_pairs():
        try:
            inverse.setdefault(mapped, key)
        except TypeError:  # an unhashable value (a mapping) cannot be looked up; skip it
            continue
    inverse_by_text = {_lookup_key(mapped): key for mapped, key in inverse.items()}
    default = row.default
    expr = Expression(row.expr) if row.expr else None
    hub_name = row.hub or ""

    def to_remote(hub_values: Mapping[str, Any]) -> Any:
        value = expr(hub_values) if expr is not None else hub_values.get(hub_name)
        for step in steps:
            value = step.forward(value)
        if value_map and value is not None:
            if isinstance(value, str) and value in value_map:
                value = value_map[value]
            elif _lookup_key(value) in value_map:
                value = value_map[_lookup_key(value)]
        if blank(value) and default is not None:
            value = default
        return value

    def to_hub(remote_value: Any) -> Any:
        value = remote_value
        # The default only stands in for "blank on the hub"; reading it back means blank.
        if default is not None and value == default:
            return None
        if inverse and value is not None:
            try:
                found = value in inverse
            except TypeError:
                found = False
            if found:
                value = inverse[value]
            elif _lookup_key(value) in inverse_by_text:
                value = inverse_by_text[_lookup_key(value)]
        for step in reversed(steps):
            value = step.backward(value)
        return value

    row._to_remote = to_remote
    row._to_hub = to_hub
    row._expr = expr
