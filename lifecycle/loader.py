"""Read and check the lifecycle file; every problem is reported at once, ``file:line path: ...``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import InputError, InputErrors
from core.hubschema import HubField, HubSchema
from core.validation import problems
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml_file
from lifecycle.spec import (
    LIFECYCLE_FILE,
    AqlRule,
    AqlSpec,
    Lifecycle,
    LifecycleSpec,
    ScoreRule,
    Stage,
    StageSpec,
    TitleMatcher,
    Transition,
    TransitionSpec,
    parse_title,
)
from mappings.expressions import Expression, ExpressionError

_Report = Callable[[KeyPath, str], None]

_TRIGGERS = ("when", "crm", "opportunity", "idle_days")


def lifecycle_path(mappings_dir: str | Path) -> Path:
    """Where the lifecycle file of a mappings folder is."""
    return Path(mappings_dir) / LIFECYCLE_FILE


def load_lifecycle(
    path: str | Path, *, missing_ok: bool = True, hub_schema: HubSchema | None = None
) -> Lifecycle | None:
    """Read and check the lifecycle file; None when it is absent and ``missing_ok``.

    Field names (``crm:`` triggers, a stage's ``sets:``) are held to the hub schema:
    ``hub_schema`` or else the ``hub.yaml`` beside the file.
    """
    path = Path(path)
    if missing_ok and not path.exists():
        return None
    if hub_schema is None:
        hub_schema = HubSchema.load(path.parent / "hub.yaml")
    data, lines = load_yaml_file(path)
    return parse_lifecycle(data, lines, display_path(path), hub_schema)


def parse_lifecycle(
    data: Any, lines: Mapping[KeyPath, int], source: str, hub_schema: HubSchema | None = None
) -> Lifecycle:
    """Check the parsed file and build :class:`Lifecycle`; InputErrors lists every problem.

    Without ``hub_schema`` field names are not checked (the engine's own tests).
    """
    found: list[tuple[int, InputError]] = []

    def error(path: KeyPath, message: str) -> None:
        line = line_of(dict(lines), path)
        place = f"{source}:{line}" if line else source
        label = format_path(path)
        found.append((line or 0, InputError(f"{place} {label}" if label else place, message)))

    def done() -> None:
        if found:
            ordered = sorted(found, key=lambda f: f[0])  # stable: same line keeps file order
            raise InputErrors([e for _, e in ordered])

    try:
        spec = LifecycleSpec.model_validate(data if data is not None else {})
    except ValidationError as exc:
        for key_path, message in problems(LifecycleSpec, data, exc, override=_wording):
            error(key_path, message)
        done()
        raise AssertionError("unreachable") from None
    person = hub_schema.fields("person") if hub_schema is not None else None
    stages = _stages(spec, person, error)
    names = {s.name.casefold(): s for s in stages}
    transitions = tuple(
        t for i, entry in enumerate(spec.transitions)
        if (t := _transition(i, entry, names, person, error)) is not None
    )
    aql = _aql(spec.aql, error) if spec.aql is not None else None
    done()
    return Lifecycle(tuple(stages), transitions, aql, source, dict(lines))


def _wording(error: Mapping[str, Any], path: KeyPath) -> str | None:
    """Words an admin uses for a few pydantic errors only this file has."""
    if error["type"] == "too_short" and path in (("stages",), ("aql", "titles"),
                                                 ("aql", "complete")):
        return "needs at least one entry"
    if len(path) == 3 and path[2] == "from" and error["type"] in ("literal_error", "list_type"):
        return "expected a list of stages, or any"
    return None


def _stages(
    spec: LifecycleSpec, person: Mapping[str, HubField] | None, error: _Report
) -> list[Stage]:
    stages: list[Stage] = []
    seen: set[str] = set()
    rank = 0
    for i, entry in enumerate(spec.stages):
        item = entry if isinstance(entry, StageSpec) else StageSpec(name=entry)
        name = item.name.strip()
        if not name:
            error(("stages", i), "a stage name must not be blank")
            continue
        if name.casefold() == "any":
            error(("stages", i), "'any' is reserved (from: any means every stage)")
            continue
        if name.casefold() in seen:
            error(("stages", i), f"stage {name!r} is listed twice (names are compared without "
                                 "case)")
            continue
        seen.add(name.casefold())
        sets: dict[str, Any] = {}
        for field_name, value in item.sets.items():
            at: KeyPath = ("stages", i, "sets", field_name)
            hub_field = _person_field(person, field_name, at, error)
            if hub_field is None:
                continue
            try:
                sets[field_name] = hub_field.coerce(value)
            except ValueError as exc:
                error(at, str(exc))
        stages.append(Stage(name, None if item.detour else rank, sets))
        if not item.detour:
            rank += 1
    return stages


def _person_field(
    person: Mapping[str, HubField] | None, name: str, at: KeyPath, error: _Report
) -> HubField | None:
    """The hub person field ``name``, or an error naming the fields there are."""
    if person is None:
        return HubField(name)
    found = person.get(name)
    if found is None:
        error(at, f"the hub has no person field {name!r} (declare custom fields in hub.yaml)")
    return found


def _transition(
    i: int, entry: TransitionSpec, names: Mapping[str, Stage],
    person: Mapping[str, HubField] | None, error: _Report,
) -> Transition | None:
    here: KeyPath = ("transitions", i)
    ok = True
    triggers = [key for key in _TRIGGERS if getattr(entry, key) is not None]
    if len(triggers) != 1:
        said = ", ".join(triggers) if triggers else "none"
        error(here, f"needs exactly one trigger of {', '.join(_TRIGGERS)} (has: {said})")
        ok = False
    known = ", ".join(names[k].name for k in names) or "none"
    target = names.get(entry.to.strip().casefold())
    if target is None:
        error((*here, "to"), f"no stage named {entry.to!r} (stages: {known})")
        ok = False
    elif target.detour and not entry.recycle:
        error((*here, "to"), f"{target.name!r} is a detour: only a rule with recycle: true "
                             "may move a person there")
        ok = False
    sources: frozenset[str] | str | None = None
    if entry.sources == []:
        error((*here, "from"), "needs at least one stage (or from: any; leave it out for any "
                               "main-path stage)")
        ok = False
    if isinstance(entry.sources, list):
        picked: set[str] = set()
        for j, name in enumerate(entry.sources):
            stage = names.get(name.strip().casefold())
            if stage is None:
                error((*here, "from", j), f"no stage named {name!r} (stages: {known})")
                ok = False
                continue
            backwards = (target is not None and not target.detour and stage.rank is not None
                         and stage.rank >= target.rank)  # type: ignore[operator]
            if backwards and not entry.recycle:
                error((*here, "from", j), f"{stage.name!r} is not before {target.name!r}: "  # type: ignore[union-attr]
                      "only a rule with recycle: true may move a person back or sideways")
                ok = False
            picked.add(stage.name)
        sources = frozenset(picked)
    elif entry.sources == "any":
        sources = "any"
    when = None
    if entry.when is not None:
        try:
            when = Expression(entry.when)
        except ExpressionError as exc:
            error((*here, "when"), exc.reason)
            ok = False
    crm = None
    if entry.crm is not None:
        if not entry.crm:
            error((*here, "crm"), "needs a field and its values, e.g. crm: {lead_status: "
                                  "[Working]}")
            ok = False
        for field_name, values in entry.crm.items():
            if _person_field(person, field_name, (*here, "crm", field_name), error) is None:
                ok = False
            if not values or any(not v.strip() for v in values):
                error((*here, "crm", field_name), "needs at least one value, none blank")
                ok = False
        crm = {k: frozenset(v.strip().casefold() for v in vs) for k, vs in entry.crm.items()}
    if not ok or target is None:
        return None
    return Transition(format_path(here), target.name, sources,  # type: ignore[arg-type]
                      entry.recycle, when, crm, entry.opportunity, entry.idle_days)


def _aql(spec: AqlSpec, error: _Report) -> AqlRule | None:
    ok = True
    titles: list[TitleMatcher] = []
    for i, text in enumerate(spec.titles):
        if not text.strip():
            error(("aql", "titles", i), "must not be blank")
            ok = False
            continue
        try:
            titles.append(parse_title(text))
        except re.error as exc:
            error(("aql", "titles", i), f"not a valid regex: {exc}")
            ok = False
    groups: list[tuple[str, ...]] = []
    for i, entry in enumerate(spec.complete):
        group = (entry,) if isinstance(entry, str) else tuple(entry)
        if not group or any(not name.strip() for name in group):
            error(("aql", "complete", i), "expected a field name, or a list of fields of which "
                                          "one must be filled")
            ok = False
            continue
        groups.append(tuple(name.strip() for name in group))
    if not ok:
        return None
    return AqlRule(
        tuple(titles), tuple(groups),
        ScoreRule(spec.behavior_score.field, spec.behavior_score.min),
        ScoreRule(spec.account_score.field, spec.account_score.min),
    )
