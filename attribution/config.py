"""The attribution file (``mappings/attribution.yaml``): who counts, how far back, which models.

    people: contact_roles          # | primary_contact_role | account_contacts
    lookback_days: 365
    lead_creation_types: [form_fill, webinar_registration, content_download]
    models:
      - w_shaped                   # a shipped model by name
      - {kind: time_decay, half_life_days: 14}
      - name: sales_heavy
        kind: custom
        weights: {ft: 20, lc: 20, oc: 20, cw: 30, middle: 10}   # percent, adding up to 100
        middles: all               # | between_ft_and_lc | before_creation

Every key is optional: a missing one takes its default, and without ``models`` every shipped
model is computed. Every problem in the file is reported at once, each as
``file:line path: message``, like a mapping's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from difflib import get_close_matches
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attribution.models import (
    BUILTIN_MODELS,
    Attribution,
    MiddleRange,
    Model,
    PositionModel,
    TimeDecayModel,
)
from attribution.positions import (
    DEFAULT_LEAD_CREATION_TYPES,
    Deal,
    Journey,
    Position,
    TouchPoint,
    build_journey,
)
from core.errors import InputError, InputErrors
from core.validation import problems
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml, load_yaml_file
from touches.types import (
    TOUCH_TYPES,  # the hub's kinds of touch: lead_creation_types are among them
)

#: The attribution file's name in the mappings folder.
ATTRIBUTION_FILE = "attribution.yaml"

People = Literal["contact_roles", "primary_contact_role", "account_contacts"]
ModelKind = Literal[
    "first_touch", "lead_creation", "last_touch", "linear", "u_shaped", "w_shaped",
    "full_path", "time_decay", "custom",
]

# A model's name becomes part of CRM object names (a Salesforce DeveloperName): letters,
# digits and single underscores, starting with a letter, not ending with an underscore.
_NAME = re.compile(r"[a-z](?:[a-z0-9]|_(?!_))*")
_NAME_MAX = 40


class _Strict(BaseModel):
    """Misspelt keys are errors and values are taken as written (``"7"`` is not 7)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Weights(_Strict):
    """A custom model's shares, in percent of the deal."""

    ft: float = Field(default=0, ge=0, le=100)
    lc: float = Field(default=0, ge=0, le=100)
    oc: float = Field(default=0, ge=0, le=100)
    cw: float = Field(default=0, ge=0, le=100)
    middle: float = Field(default=0, ge=0, le=100)


class _ModelEntry(_Strict):
    """One entry of ``models:`` written as a mapping."""

    name: str | None = None
    kind: ModelKind = Field(description="a shipped model's name, or custom")
    weights: _Weights | None = None
    middles: Literal["all", "between_ft_and_lc", "before_creation"] | None = None
    half_life_days: float | None = Field(default=None, gt=0)


class _File(_Strict):
    """The attribution file's top level; ``models`` entries are checked one by one."""

    people: People = "contact_roles"
    lookback_days: int = Field(default=365, ge=0, le=36500)
    lead_creation_types: list[str] = Field(default_factory=lambda: sorted(
        DEFAULT_LEAD_CREATION_TYPES))
    models: list[Any] | None = None


M = TypeVar("M", bound=BaseModel)

_NOUNS = {"people": "way to find an opportunity's people", "kind": "model kind",
          "middles": "middle range"}


@dataclass(frozen=True)
class AttributionSettings:
    """What the attribution file says, defaults filled in; computes a deal under every model."""

    people: People = "contact_roles"
    lookback_days: int = 365
    lead_creation_types: frozenset[str] = DEFAULT_LEAD_CREATION_TYPES
    models: tuple[Model, ...] = tuple(BUILTIN_MODELS.values())
    source: str = ""

    def journey(self, deal: Deal, touches: Iterable[TouchPoint], now: datetime) -> Journey:
        """``deal``'s journey under these settings (lookback, lead-creation types)."""
        return build_journey(deal, touches, lookback_days=self.lookback_days, now=now,
                             lead_creation_types=self.lead_creation_types)

    def attribute(
        self, deal: Deal, touches: Iterable[TouchPoint], now: datetime
    ) -> list[Attribution]:
        """``deal`` under every configured model, in the file's order."""
        journey = self.journey(deal, touches, now)
        return [model.attribute(journey) for model in self.models]

    def model(self, name: str) -> Model:
        """The configured model called ``name``; KeyError if there is none."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)


def load_settings(path: str | os.PathLike[str]) -> AttributionSettings:
    """Read and check an attribution file; InputErrors lists every problem as ``file:line``."""
    data, lines = load_yaml_file(Path(path))
    return _Parser(display_path(Path(path)), data, lines).parse()


def parse_settings(text: str, source: str) -> AttributionSettings:
    """Check attribution YAML given as text (the dashboard, tests) exactly as a file is."""
    data, lines = load_yaml(text, source)
    return _Parser(source, data, lines).parse()


class _Parser:
    """Checks one attribution document, collecting every problem before raising them together."""

    def __init__(self, source: str, data: Any, lines: dict[KeyPath, int]) -> None:
        self.source = source
        self.data = {} if data is None else data  # an empty file: every default
        self.lines = lines
        self.found: list[tuple[int, InputError]] = []

    def error(self, path: KeyPath, message: str) -> None:
        line = line_of(self.lines, path) or 1
        label = format_path(path)
        where = f"{self.source}:{line} {label}" if label else f"{self.source}:{line}"
        self.found.append((line, InputError(where, message)))

    def parse(self) -> AttributionSettings:
        top = self._validate(_File, self.data, ())
        # The lists are checked item by item even when the top level has problems, so that
        # one run reports everything.
        raw = self.data if isinstance(self.data, dict) else {}
        given_types = raw.get("lead_creation_types")
        types = self._lead_creation_types(given_types if isinstance(given_types, list) else [])
        given_models = raw.get("models")
        models = self._models(given_models if isinstance(given_models, list) else None)
        if self.found or top is None:
            raise InputErrors([e for _, e in sorted(self.found, key=lambda f: f[0])])
        return AttributionSettings(
            people=top.people, lookback_days=top.lookback_days,
            lead_creation_types=types if given_types is not None else DEFAULT_LEAD_CREATION_TYPES,
            models=models, source=self.source,
        )

    def _validate(self, model: type[M], data: Any, at: KeyPath) -> M | None:
        if not isinstance(data, dict):
            self.error(at, "expected a mapping (key: value)")
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for path, message in problems(model, data, exc, nouns=_NOUNS):
                self.error((*at, *path), message)
            return None

    def _lead_creation_types(self, given: list[Any]) -> frozenset[str]:
        seen: set[str] = set()
        for i, kind in enumerate(given):
            if not isinstance(kind, str):
                continue  # the top-level check says "expected a string"
            if kind not in TOUCH_TYPES:
                close = get_close_matches(kind, TOUCH_TYPES, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                allowed = ", ".join(TOUCH_TYPES)
                self.error(("lead_creation_types", i),
                           f"{kind!r} is not a touch type (allowed: {allowed}){hint}")
            elif kind in seen:
                self.error(("lead_creation_types", i), f"{kind!r} is listed twice")
            seen.add(kind)
        return frozenset(k for k in given if isinstance(k, str))

    def _models(self, entries: list[Any] | None) -> tuple[Model, ...]:
        if entries is None:
            return tuple(BUILTIN_MODELS.values())
        if not entries:
            self.error(("models",), "list at least one model (or leave models out for all)")
        names: dict[str, int] = {}
        built: list[Model] = []
        for i, entry in enumerate(entries):
            model = self._model(entry, ("models", i))
            if model is None:
                continue
            if model.name in names:
                self.error(("models", i), f"a second model called {model.name!r} (the first is "
                           f"models[{names[model.name]}]); give one a name")
                continue
            names[model.name] = i
            built.append(model)
        return tuple(built)

    def _model(self, entry: Any, at: KeyPath) -> Model | None:
        if isinstance(entry, str):
            if entry in BUILTIN_MODELS:
                return BUILTIN_MODELS[entry]
            close = get_close_matches(entry, BUILTIN_MODELS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.error(at, f"{entry!r} is not a shipped model (shipped: "
                       f"{', '.join(BUILTIN_MODELS)}); a custom model is a mapping with "
                       f"name, kind: custom and weights{hint}")
            return None
        if not isinstance(entry, dict):
            self.error(at, "expected a shipped model's name or a mapping (name, kind, ...)")
            return None
        spec = self._validate(_ModelEntry, entry, at)
        if spec is None:
            return None
        name = spec.name if spec.name is not None else spec.kind
        if not self._check_entry(spec, name, at):
            return None
        if spec.kind == "custom":
            assert spec.weights is not None  # checked above
            weights = {p: _percent(getattr(spec.weights, p.key)) for p in Position}
            return PositionModel(name, weights, _percent(spec.weights.middle),
                                 MiddleRange(spec.middles or "all"))
        if spec.kind == "time_decay":
            return TimeDecayModel(name, spec.half_life_days or TimeDecayModel.half_life_days)
        return _renamed(BUILTIN_MODELS[spec.kind], name)

    def _check_entry(self, spec: _ModelEntry, name: str, at: KeyPath) -> bool:
        ok = True
        if not _NAME.fullmatch(name) or len(name) > _NAME_MAX:
            self.error((*at, "name"), f"{name!r}: use lower-case letters, digits and single "
                       f"underscores, starting with a letter (at most {_NAME_MAX})")
            ok = False
        elif name in BUILTIN_MODELS and name != spec.kind:
            self.error((*at, "name"), f"{name!r} is a shipped model's name; give this "
                       f"{spec.kind} model its own")
            ok = False
        custom = spec.kind == "custom"
        if custom and spec.name is None:
            self.error(at, "a custom model needs a name")
            ok = False
        if custom and spec.weights is None:
            self.error(at, "a custom model needs weights (percent for ft, lc, oc, cw, middle)")
            ok = False
        for key, kind in (("weights", "custom"), ("middles", "custom"),
                          ("half_life_days", "time_decay")):
            if getattr(spec, key) is not None and spec.kind != kind:
                self.error((*at, key), f"only for kind {kind} (this model is {spec.kind})")
                ok = False
        if custom and spec.weights is not None:
            total = sum((_percent(v) for v in spec.weights.model_dump().values()), Fraction(0))
            if total != 1:
                self.error((*at, "weights"),
                           f"the weights add up to {_shown(total * 100)} %, not 100 %")
                ok = False
        return ok


def _percent(value: float) -> Fraction:
    """A percentage as written (``22.5``) as an exact share (9/40), not via binary floats."""
    return Fraction(str(value)) / 100


def _shown(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _renamed(model: Model, name: str) -> Model:
    """A shipped model under the file's own name (``{name: w, kind: w_shaped}``)."""
    return model if model.name == name else replace(model, name=name)  # type: ignore[type-var]
