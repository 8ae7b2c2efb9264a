"""The programs file (``mappings/programs.yaml``): channels, their member statuses, UTM aliases.

    default_channel: Other
    channels:
      Webinar:
        campaign_types: [Webinar]
        touch_type: webinar_attended
        statuses:
          - {status: invited}
          - {status: registered, touch_type: webinar_registration}
          - {status: no_show}
          - {status: attended, success: true}
    shared_statuses:
      - {status: responded, success: true}
    utm:
      source: {fb: facebook}
      medium: {ppc: cpc}

A campaign belongs to the channel its ``channel`` names, else the one its ``type`` is listed
under, else ``default_channel``. A member whose status is a ``success`` status of that channel
(or of ``shared_statuses``, valid in every channel) has touched the program; the touch gets the
status's ``touch_type``, else its channel's. Statuses are the hub's codes, the ones campaign
member mappings translate in their ``value_map``; :func:`check_mappings` holds those maps to
this file. Every problem is reported at once as ``file:line path: message``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InputError, InputErrors
from core.models import Campaign
from core.validation import problems
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml_file
from mappings.loader import locate
from mappings.spec import Mapping as MappingSpec
from touches.types import TouchType
from touches.utm import UtmAliases

#: The programs file's name in the mappings folder (mappings.loader reserves it).
PROGRAMS_FILE = "programs.yaml"

_NOUNS = {"touch_type": "touch type"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusSpec(_Strict):
    """One member status of a channel, as written in the file."""

    status: str = Field(min_length=1, description="the hub's status code, e.g. attended")
    success: bool = False
    #: A response that says no (declined, opted out, bounced): never a touch, even when a CRM
    #: marks it responded, since it is no engagement to credit.
    negative: bool = False
    touch_type: TouchType | None = None

    @model_validator(mode="after")
    def _not_both(self) -> StatusSpec:
        if self.success and self.negative:
            raise ValueError(f"{self.status!r} cannot be both success and negative")
        return self


class ChannelSpec(_Strict):
    """One channel, as written in the file."""

    campaign_types: list[str] = Field(default_factory=list)
    touch_type: TouchType = Field(
        description="the touch type of a successful member, e.g. touch_type: webinar_attended"
    )
    statuses: list[StatusSpec] = Field(min_length=1)


class UtmSpec(_Strict):
    """The UTM alias maps, as written in the file."""

    source: dict[str, str] = Field(default_factory=dict)
    medium: dict[str, str] = Field(default_factory=dict)


class ProgramsSpec(_Strict):
    """The whole file; each channel is checked on its own (:class:`ChannelSpec`)."""

    default_channel: str | None = None
    channels: dict[str, Any] = Field(default_factory=dict)
    shared_statuses: list[StatusSpec] = Field(default_factory=list)
    utm: UtmSpec = Field(default_factory=UtmSpec)


@dataclass(frozen=True, slots=True)
class Status:
    """A member status of a channel: its code, whether it counts, and its touch type."""

    code: str
    success: bool
    touch_type: str
    negative: bool = False


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel: its member statuses in order (its own, then the shared ones)."""

    name: str
    touch_type: str
    statuses: tuple[Status, ...]
    campaign_types: tuple[str, ...] = ()

    def status(self, code: str | None) -> Status | None:
        """The status with this code (compared without case), or None."""
        if code is None:
            return None
        wanted = code.strip().casefold()
        return next((s for s in self.statuses if s.code.casefold() == wanted), None)


@dataclass(frozen=True)
class Programs:
    """The programs file, loaded: channels by name, the shared statuses and the UTM aliases."""

    channels: Mapping[str, Channel] = field(default_factory=dict)
    shared: tuple[StatusSpec, ...] = ()
    default_channel: str | None = None
    aliases: UtmAliases = field(default_factory=UtmAliases)
    #: A hash of what the file says: members are looked at again when it changes.
    fingerprint: str = ""
    source: str = PROGRAMS_FILE
    #: Key path → line, for checks that point into the file after loading.
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def channel(self, name: str | None) -> Channel | None:
        """The channel called ``name`` (without case), or None."""
        if name is None:
            return None
        wanted = name.strip().casefold()
        return next((c for c in self.channels.values() if c.name.casefold() == wanted), None)

    def channel_of(self, campaign: Campaign | None) -> Channel | None:
        """A campaign's channel: by its channel, else by its type, else the default one."""
        if campaign is not None:
            found = self.channel(campaign.channel)
            if found is not None:
                return found
            kind = (campaign.type or "").strip().casefold()
            if kind:
                for channel in self.channels.values():
                    if kind == channel.name.casefold() or kind in {
                        t.casefold() for t in channel.campaign_types
                    }:
                        return channel
        return self.channel(self.default_channel)

    def shared_status(self, code: str | None) -> Status | None:
        """A shared status (valid in every channel), for members of a campaign with no channel."""
        if code is None:
            return None
        wanted = code.strip().casefold()
        for spec in self.shared:
            if spec.status.casefold() == wanted:
                return Status(spec.status, spec.success, str(spec.touch_type or TouchType.OTHER),
                              spec.negative)
        return None

    def all_statuses(self) -> dict[str, list[str]]:
        """Every status code → the channels it belongs to (shared ones: every channel)."""
        found: dict[str, list[str]] = {}
        for channel in self.channels.values():
            for status in channel.statuses:
                found.setdefault(status.code, []).append(channel.name)
        for spec in self.shared:
            found.setdefault(spec.status, [])
        return found


def programs_path(mappings_dir: str | Path) -> Path:
    """Where the programs file of a mappings folder is."""
    return Path(mappings_dir) / PROGRAMS_FILE


def load_programs(path: str | Path, *, missing_ok: bool = True) -> Programs:
    """Read and check the programs file; InputErrors lists every problem.

    A missing file means no channels (``missing_ok``): campaign responses still become touches
    (of type ``other``), member statuses alone do not.
    """
    path = Path(path)
    if missing_ok and not path.exists():
        return Programs(source=display_path(path))
    data, lines = load_yaml_file(path)
    return parse_programs(data, lines, display_path(path))


def parse_programs(data: Any, lines: Mapping[KeyPath, int], source: str) -> Programs:
    """Check the parsed file and build :class:`Programs`; InputErrors lists every problem."""
    found: list[tuple[int, InputError]] = []

    def error(path: KeyPath, message: str) -> None:
        line = line_of(dict(lines), path)
        place = f"{source}:{line}" if line else source
        label = format_path(path)
        found.append((line or 0, InputError(f"{place} {label}" if label else place, message)))

    if data is None:
        data = {}
    try:
        spec = ProgramsSpec.model_validate(data)
    except ValidationError as exc:
        for key_path, message in problems(ProgramsSpec, data, exc, nouns=_NOUNS):
            error(key_path, message)
        raise InputErrors([e for _, e in sorted(found, key=lambda f: f[0])]) from None
    # One channel at a time: the messages name the channel's keys (core.validation follows
    # models, not maps of them).
    specs: dict[str, ChannelSpec] = {}
    for name, entry in spec.channels.items():
        try:
            specs[str(name)] = ChannelSpec.model_validate(entry)
        except ValidationError as exc:
            for key_path, message in problems(ChannelSpec, entry, exc, nouns=_NOUNS,
                                              override=_channel_wording):
                error(("channels", name, *key_path), message)
    channels = _channels(specs, spec.shared_statuses, error)
    _unique_statuses(spec.shared_statuses, ("shared_statuses",), error)
    if spec.default_channel is not None and spec.default_channel not in spec.channels:
        known = ", ".join(spec.channels) or "none"
        error(("default_channel",), f"no channel named {spec.default_channel!r} (known: {known})")
    for name, channel in specs.items():
        _unique_statuses(channel.statuses, ("channels", name, "statuses"), error)
    for kind in ("source", "medium"):
        for alias, target in getattr(spec.utm, kind).items():
            if not alias.strip() or not target.strip():
                error(("utm", kind, alias), "an alias and its name must not be blank")
    if found:
        raise InputErrors([e for _, e in sorted(found, key=lambda f: f[0])])
    aliases = UtmAliases.of(spec.utm.source, spec.utm.medium)
    fingerprint = hashlib.sha256(
        json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    return Programs(channels, tuple(spec.shared_statuses), spec.default_channel, aliases,
                    fingerprint, source, dict(lines))


def _channel_wording(error: Mapping[str, Any], path: KeyPath) -> str | None:
    """An empty status list in words an admin uses."""
    if error["type"] == "too_short" and path == ("statuses",):
        return "needs at least one status"
    return None


def _channels(
    specs: Mapping[str, ChannelSpec], shared_statuses: list[StatusSpec], error: Any
) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    owner: dict[str, str] = {}  # campaign type (casefolded) → channel listing it
    names: dict[str, str] = {}
    for name, channel in specs.items():
        if not name.strip():
            error(("channels",), "a channel name must not be blank")
            continue
        if name.casefold() in names:
            error(("channels", name), f"same name as channel {names[name.casefold()]!r} "
                  "(channel names are compared without case)")
        names[name.casefold()] = name
        for i, kind in enumerate(channel.campaign_types):
            other = owner.setdefault(kind.casefold(), name)
            if other != name:
                error(("channels", name, "campaign_types", i),
                      f"campaign type {kind!r} is already listed under channel {other!r}")
        default = str(channel.touch_type)
        own = {s.status.casefold() for s in channel.statuses}
        # A channel may list a shared status itself: its own entry (place, success) wins.
        shared = [s for s in shared_statuses if s.status.casefold() not in own]
        statuses = [
            Status(s.status, s.success, str(s.touch_type or default), s.negative)
            for s in (*channel.statuses, *shared)
        ]
        channels[name] = Channel(name, default, tuple(statuses), tuple(channel.campaign_types))
    return channels


def _unique_statuses(statuses: Iterable[StatusSpec], path: KeyPath, error: Any) -> None:
    seen: set[str] = set()
    for i, status in enumerate(statuses):
        code = status.status.casefold()
        if code in seen:
            error((*path, i, "status"), f"status {status.status!r} is listed twice")
        seen.add(code)


@dataclass(frozen=True, slots=True)
class StatusProblem:
    """A campaign member mapping's status that the programs file does not know (or lacks)."""

    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"


def check_mappings(programs: Programs, mappings: Mapping[str, MappingSpec]) -> list[StatusProblem]:
    """Hold every campaign member mapping's status ``value_map`` to the programs file.

    A hub status the map names must be a status of some channel or a shared one: a member
    arriving with any other would never count as a touch, however it responded. (Statuses the
    map leaves out pass through as they are, as value maps do everywhere.)
    """
    known = programs.all_statuses()
    if not known:
        return []  # no programs file: nothing to hold the maps to
    by_case = {code.casefold(): code for code in known}
    found: list[StatusProblem] = []
    for _, mapping in sorted(mappings.items()):
        if mapping.hub_object != "campaign_member":
            continue
        for i, row in enumerate(mapping.fields):
            if row.hub != "status" or not row.value_map:
                continue
            where = locate(mapping, ("fields", i, "value_map"))
            unknown = [str(k) for k in row.value_map if str(k).casefold() not in by_case]
            for code in unknown:
                found.append(StatusProblem(
                    "error", where,
                    f"{code!r} is not a member status in {programs.source} "
                    f"(statuses: {', '.join(sorted(known))}); add it to a channel's statuses "
                    "or to shared_statuses",
                ))
    return found
