"""UTM values as attribution groups them: trimmed, source and medium lower-cased and aliased.

``Facebook ``, ``fb`` and ``FB`` are one source; reports that split them split a channel's
credit three ways. The alias map comes from the programs file (``utm.source`` and
``utm.medium``), so an admin adds the spellings their own campaigns use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.values import blank

#: The UTM-like fields of a touch, in the order files and exports list them.
UTM_FIELDS = ("source", "medium", "utm_campaign", "utm_content", "utm_term", "landing_page")
#: Fields compared without case (and aliased): the ones reports group by.
CASELESS_FIELDS = ("source", "medium")


@dataclass(frozen=True, slots=True)
class UtmAliases:
    """Spelling → the one name reports use, per field; keys are stored trimmed and lower-cased."""

    source: Mapping[str, str] = field(default_factory=dict)
    medium: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, source: Mapping[str, str], medium: Mapping[str, str]) -> UtmAliases:
        """Aliases with their keys and targets normalised the way values are looked up."""
        return cls(
            {_key(k): _key(v) for k, v in source.items()},
            {_key(k): _key(v) for k, v in medium.items()},
        )


NO_ALIASES = UtmAliases()


def _key(value: Any) -> str:
    return str(value).strip().lower()


def clean(value: Any) -> str | None:
    """A free-text value trimmed; None when blank."""
    if blank(value):
        return None
    return str(value).strip()


def normalise(field_name: str, value: Any, aliases: UtmAliases = NO_ALIASES) -> str | None:
    """One UTM field's value as stored: trimmed, blank → None; source/medium lower and aliased."""
    text = clean(value)
    if text is None or field_name not in CASELESS_FIELDS:
        return text
    text = text.lower()
    table: Mapping[str, str] = getattr(aliases, field_name)
    return table.get(text, text)


def normalise_all(values: Mapping[str, Any], aliases: UtmAliases = NO_ALIASES) -> dict[str, Any]:
    """Every UTM field present in ``values``, normalised; other keys are left out."""
    return {name: normalise(name, values[name], aliases) for name in UTM_FIELDS if name in values}
