"""Salesforce record ids: key prefixes, 15/18-character forms and the case-checksum suffix."""

from __future__ import annotations

import itertools
import string
import threading

# Key prefixes of the objects the sandbox serves (plus the non-record ids it mints).
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Organization": "00D",
    "CampaignInfluenceModel": "03V",
    "CampaignInfluence": "0KK",
    "OpportunityContactRole": "00K",
    "Lead": "00Q",
    "CampaignMember": "00v",
    "CampaignMemberStatus": "01Y",
    "Campaign": "701",
    "BulkJob": "750",
    "BulkBatch": "751",
    "QueryLocator": "01g",
}
OBJECT_BY_PREFIX: dict[str, str] = {prefix: name for name, prefix in KEY_PREFIXES.items()}

# The two "pod" characters that real ids carry at positions 4-5, then one reserved character.
POD = "5e"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"
_ALPHANUMERIC = frozenset(string.ascii_letters + string.digits)
_COUNTER_WIDTH = 9


def _checksum(id15: str) -> str:
    """The 3-character suffix: one character per 5-char block, bit i set when char i is A-Z."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def _base62(number: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits)).rjust(_COUNTER_WIDTH, "0")


def is_valid(record_id: object) -> bool:
    """Whether `record_id` is a well-formed 15- or 18-character id (checksum checked for 18)."""
    if not isinstance(record_id, str) or len(record_id) not in (15, 18):
        return False
    if not set(record_id) <= _ALPHANUMERIC:
        return False
    if len(record_id) == 15:
        return True
    return _restore_case(record_id) is not None


def _restore_case(id18: str) -> str | None:
    """The case-exact 18-char id encoded by `id18` (18-char ids are case-insensitive), or None."""
    suffix = id18[15:].upper()
    body = []
    for block, check in enumerate(suffix):
        bits = _CHECKSUM_ALPHABET.find(check)
        if bits < 0:
            return None
        for position in range(5):
            char = id18[block * 5 + position]
            upper = bool(bits & (1 << position))
            if upper and not char.isalpha():
                return None
            body.append(char.upper() if upper else char.lower())
    return "".join(body) + suffix


def to18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id; ValueError when malformed."""
    if not is_valid(record_id):
        raise ValueError(f"malformed Salesforce id: {record_id!r}")
    if len(record_id) == 15:
        return record_id + _checksum(record_id)
    restored = _restore_case(record_id)
    assert restored is not None  # is_valid checked it
    return restored


def prefix_of(record_id: str) -> str:
    """The 3-character key prefix of an id (which object it belongs to)."""
    return record_id[:3]


def object_of(record_id: str) -> str | None:
    """The object name an id's key prefix belongs to, or None for an unknown prefix."""
    return OBJECT_BY_PREFIX.get(prefix_of(record_id)) if isinstance(record_id, str) else None


class IdMinter:
    """Mints fresh 18-character ids: prefix + pod + "0" + base62 counter + checksum."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()
        #: The last number minted (saved with a sandbox's state so ids never repeat).
        self.last = start - 1

    def mint(self, prefix: str) -> str:
        """A new id with the key prefix `prefix` (one counter shared by all prefixes)."""
        with self._lock:
            number = next(self._counter)
            self.last = number
        id15 = f"{prefix}{POD}0{_base62(number)}"
        return id15 + _checksum(id15)
