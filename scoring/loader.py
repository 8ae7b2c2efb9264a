"""Load and check ``mappings/scoring.yaml``: every problem at once, ``file:line path: message``."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateSyntaxError
from jinja2.lexer import ignored_tokens
from jinja2.parser import Parser
from pydantic import ValidationError

from core.errors import InputError, InputErrors
from core.hubschema import HubField, HubSchema
from core.validation import problems
from core.yamlsource import KeyPath, display_path, format_path, line_of, load_yaml_file
from mappings.expressions import Expression, ExpressionError
from scoring.spec import (
    SCORING_FILE,
    AccountRule,
    BehavioralRule,
    Cap,
    Decay,
    DemographicRule,
    Override,
    PointsValue,
    Scoring,
    ScoringSpec,
    TouchMatch,
)
from touches.types import TOUCH_TYPES

#: Keys a ``touch:`` matcher may hold besides ``detail.<key>``; utm_source/utm_medium are the
#: touch's ``source``/``medium`` under the names admins know from links.
MATCH_KEYS = {
    "type": "touch_type", "channel": "channel", "campaign": "campaign",
    "campaign_id": "campaign_id", "source": "source", "utm_source": "source",
    "medium": "medium", "utm_medium": "medium", "utm_campaign": "utm_campaign",
    "utm_content": "utm_content", "utm_term": "utm_term", "origin": "origin",
    "landing_page": "landing_page",
}  # fmt: skip

#: Names a behavioural ``when`` may read (the touch's fields, see engine.TouchFacts).
TOUCH_NAMES = frozenset({
    "id", "occurred_at", "touch_type", "channel", "campaign", "campaign_id", "source",
    "medium", "utm_campaign", "utm_content", "utm_term", "landing_page", "origin", "detail",
})  # fmt: skip

Error = Callable[[KeyPath, str], None]

#: Only to locate a syntax error in an expression: Jinja reports the line, not the column.
_LEXER_ENV = Environment()


def scoring_path(mappings_dir: str | Path) -> Path:
    """Where the scoring file of a mappings folder is."""
    return Path(mappings_dir) / SCORING_FILE


def load_scoring(path: str | Path, hub_schema: HubSchema | None = None) -> Scoring:
    """Read and check the scoring file; InputErrors lists every problem.

    Score fields are held to the hub schema: ``hub_schema`` or else the ``hub.yaml`` beside
    the file.
    """
    path = Path(path)
    if hub_schema is None:
        hub_schema = HubSchema.load(path.parent / "hub.yaml")
    data, lines = load_yaml_file(path)
    return parse_scoring(data, lines, display_path(path), hub_schema)


def parse_scoring(
    data: Any, lines: Mapping[KeyPath, int], source: str, hub_schema: HubSchema
) -> Scoring:
    """Check the parsed file and build :class:`Scoring`; InputErrors lists every problem."""
    found: list[tuple[int, int, InputError]] = []

    def error(path: KeyPath, message: str) -> None:
        line = line_of(dict(lines), path)
        place = f"{source}:{line}" if line else source
        label = format_path(path)
        where = f"{place} {label}" if label else place
        found.append((line or 0, len(found), InputError(where, message)))

    def done() -> None:
        if found:
            raise InputErrors([e for *_, e in sorted(found, key=lambda f: f[:2])])

    if data is None:
        data = {}
    try:
        spec = ScoringSpec.model_validate(data)
    except ValidationError as exc:
        for key_path, message in problems(ScoringSpec, data, exc):
            error(key_path, message)
        done()
        raise AssertionError("unreachable") from None
    person = hub_schema.fields("person")
    people_fields = set(person) | {"id"}
    fed, formulas = _scores(spec, person, error)
    tokens = {name: float(value) for name, value in spec.tokens.items()}
    overrides = _overrides(spec, tokens, error)

    def points(path: KeyPath, raw: Any, *, reset_ok: bool) -> PointsValue:
        return _points(path, raw, tokens, reset_ok=reset_ok, error=error)

    def compiled(path: KeyPath, text: str, names: set[str] | frozenset[str], what: str,
                 ) -> Expression | None:
        return _expression(path, text, names, what, error)

    def feeds(path: KeyPath, score: str) -> None:
        if score in formulas:
            error(path, f"{score!r} is combined by its formula; rules feed the scores it reads")
        elif score not in fed:
            error(path, f"unknown score {score!r} (scores: {', '.join(fed) or 'none'})")

    demographic: list[DemographicRule] = []
    _unique_names([r.name for r in spec.demographic], ("demographic",), error)
    for i, d in enumerate(spec.demographic):
        at: KeyPath = ("demographic", i)
        feeds((*at, "score"), d.score)
        if d.cap is not None:
            error((*at, "cap"), "caps are for behavioral rules: a demographic rule counts once")
        when = compiled((*at, "when"), d.when, people_fields | {"account"},
                        "a person field or account.<field>")
        value = points((*at, "points"), d.points, reset_ok=False)
        if when is not None:
            demographic.append(DemographicRule(d.name, d.score, when, value))
    behavioral: list[BehavioralRule] = []
    _unique_names([r.name for r in spec.behavioral], ("behavioral",), error)
    for i, b in enumerate(spec.behavioral):
        at = ("behavioral", i)
        feeds((*at, "score"), b.score)
        if b.touch is None and b.when is None:
            error(at, "needs touch: {type: ...} or when: \"<condition on the touch>\"")
        match = _match((*at, "touch"), b.touch, error) if b.touch is not None else None
        when_b = (compiled((*at, "when"), b.when, TOUCH_NAMES, "a touch field")
                  if b.when is not None else None)
        value = points((*at, "points"), b.points, reset_ok=True)
        if value.reset and b.cap is not None:
            error((*at, "cap"), "a rule that sets the score (=N) takes no cap")
        cap = Cap(b.cap.per_day, b.cap.total) if b.cap is not None else None
        behavioral.append(BehavioralRule(b.name, b.score, value, match, when_b, cap))
    decay: dict[str, Decay] = {}
    for i, dec in enumerate(spec.decay):
        at = ("decay", i)
        feeds((*at, "score"), dec.score)
        if dec.score in decay:
            error((*at, "score"), f"{dec.score!r} already has a decay")
        by_half = dec.half_life_days is not None
        by_step = dec.minus is not None or dec.every_days is not None
        if by_half == by_step:
            error(at, "give either half_life_days, or minus and every_days")
        elif by_step and (dec.minus is None or dec.every_days is None):
            error(at, "minus and every_days go together")
        elif by_half and dec.without_touch:
            error((*at, "without_touch"), "only with minus and every_days")
        decay[dec.score] = Decay(dec.score, dec.half_life_days, dec.minus, dec.every_days,
                                 dec.without_touch)
    account_rules, account_fields = _account(spec, hub_schema, tokens, error, compiled)
    done()
    fingerprint = hashlib.sha256(
        json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    return Scoring(tuple(fed), formulas, tokens, tuple(overrides), tuple(demographic),
                   tuple(behavioral), decay, tuple(account_rules), tuple(account_fields),
                   fingerprint, source, dict(lines))


def _numeric(hub_field: HubField | None) -> bool:
    return hub_field is not None and hub_field.type in ("integer", "number")


def _score_field(path: KeyPath, name: str, fields: Mapping[str, HubField], hub_object: str,
                 error: Error) -> bool:
    if not _numeric(fields.get(name)):
        what = "not a field" if name not in fields else f"a {fields[name].type} field"
        error(path, f"{name!r} is {what} of hub object {hub_object!r}; a score field must be "
              "an integer or number field (declare it in hub.yaml)")
        return False
    return True


def _scores(spec: ScoringSpec, person: Mapping[str, HubField], error: Error,
            ) -> tuple[list[str], dict[str, Expression]]:
    fed: list[str] = []
    formulas: dict[str, Expression] = {}
    sources: dict[str, str] = {}
    for name, score in spec.scores.items():
        if not _score_field(("scores", name), name, person, "person", error):
            continue
        if score is not None and score.formula is not None:
            sources[name] = score.formula
        else:
            fed.append(name)
    for name, text in sources.items():
        expr = _expression(("scores", name, "formula"), text, set(fed), "a rule-fed score",
                           error)
        if expr is not None:
            formulas[name] = expr
    return fed, formulas


def _overrides(spec: ScoringSpec, tokens: Mapping[str, float], error: Error) -> list[Override]:
    out: list[Override] = []
    for i, o in enumerate(spec.overrides):
        at: KeyPath = ("overrides", i)
        if (o.channel is None) == (o.campaign is None):
            error(at, "give either channel or campaign")
        for name in o.tokens:
            if name not in tokens:
                error((*at, "tokens", name), _unknown_token(name, tokens))
        out.append(Override({k: float(v) for k, v in o.tokens.items()}, o.channel, o.campaign))
    return out


def _unknown_token(name: str, tokens: Mapping[str, float]) -> str:
    return f"unknown token {name!r} (tokens: {', '.join(tokens) or 'none'})"


def _points(path: KeyPath, raw: Any, tokens: Mapping[str, float], *, reset_ok: bool,
            error: Error) -> PointsValue:
    """``10``, ``-5``, ``"@token"``, ``"=0"``, ``"=@token"``."""
    if isinstance(raw, bool):
        error(path, "expected a number, \"@token\" or \"=N\"")
        return PointsValue(0)
    if isinstance(raw, int | float):
        return PointsValue(float(raw))
    text = str(raw).strip()
    reset = text.startswith("=")
    if reset:
        if not reset_ok:
            error(path, "\"=N\" (set the score) is for behavioral rules")
        text = text[1:].strip()
    if text.startswith("@"):
        name = text[1:]
        if name not in tokens:
            error(path, _unknown_token(name, tokens))
            return PointsValue(0, reset=reset)
        return PointsValue(token=name, reset=reset)
    try:
        return PointsValue(float(text), reset=reset)
    except ValueError:
        error(path, f"{raw!r} is not points: expected a number, \"@token\" or \"=N\"")
        return PointsValue(0)


def _expression(path: KeyPath, text: str, names: set[str] | frozenset[str], what: str,
                error: Error) -> Expression | None:
    try:
        expr = Expression(text)
    except ExpressionError as exc:
        column = _column(text) if "unexpected" in exc.reason else None
        error(path, f"{exc.reason} (at character {column})" if column else exc.reason)
        return None
    unknown = sorted(expr.names - set(names))
    for name in unknown:
        error(path, f"{name!r} is not {what}")
    return None if unknown else expr


def _column(source: str) -> int | None:
    """Where (1-based) the parser stopped in an expression that does not parse, if it can say."""
    offsets: list[int] = []
    position = 0
    try:
        for _, kind, value in _LEXER_ENV.lexer.tokeniter(source, None, state="variable"):
            if kind not in ignored_tokens:
                offsets.append(position)
            position += len(value)
        parser = Parser(_LEXER_ENV, source, state="variable")
        with contextlib.suppress(TemplateSyntaxError):  # the stream stays where it choked
            parser.parse_expression()
        rest = list(parser.stream)  # that token and the ones after it
    except TemplateSyntaxError:
        return None  # the lexer's own error (an unclosed quote): no token to point at
    index = len(offsets) - len(rest)
    return offsets[index] + 1 if index < len(offsets) else len(source) + 1


def _match(path: KeyPath, raw: Mapping[str, Any], error: Error) -> TouchMatch:
    fields: dict[str, tuple[Any, ...]] = {}
    for key, value in raw.items():
        key = str(key)
        if key.startswith("detail.") and len(key) > len("detail."):
            target = key
        elif key in MATCH_KEYS:
            target = MATCH_KEYS[key]
        else:
            known = ", ".join(sorted(MATCH_KEYS))
            error((*path, key), f"unknown key {key!r} (known: {known}, detail.<key>)")
            continue
        allowed = tuple(value) if isinstance(value, list) else (value,)
        if not allowed or any(isinstance(v, dict | list) or v is None for v in allowed):
            error((*path, key), "expected a value or a list of values")
            continue
        if target == "touch_type":
            for j, kind in enumerate(allowed):
                if str(kind) not in TOUCH_TYPES:
                    where = (*path, key, j) if isinstance(value, list) else (*path, key)
                    error(where, f"{kind!r} is not a touch type "
                          f"(allowed: {', '.join(TOUCH_TYPES)})")
        fields[target] = allowed
    return TouchMatch(fields)


def _unique_names(names: list[str], path: KeyPath, error: Error) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            error((*path, i, "name"), f"rule name {name!r} is used twice")
        seen.add(name)


def _account(spec: ScoringSpec, hub_schema: HubSchema, tokens: Mapping[str, float],
             error: Error, compiled: Callable[..., Expression | None],
             ) -> tuple[list[AccountRule], list[str]]:
    fields = hub_schema.fields("account")
    rules: list[AccountRule] = []
    scores: list[str] = []
    _unique_names([r.name for r in spec.account], ("account",), error)
    for i, a in enumerate(spec.account):
        at: KeyPath = ("account", i)
        if _score_field((*at, "score"), a.score, fields, "account", error) and \
                a.score not in scores:
            scores.append(a.score)
        if a.when is None and a.min_people is None:
            error(at, "needs when: \"<condition on the account>\" or min_people: N")
        if a.min_people is None and (a.touched_within_days is not None or a.touch is not None):
            error(at, "touched_within_days and touch go with min_people")
        if a.min_people is not None and a.touched_within_days is None:
            error(at, "min_people needs touched_within_days")
        when = (compiled((*at, "when"), a.when, set(fields) | {"id"}, "an account field")
                if a.when is not None else None)
        match = _match((*at, "touch"), a.touch, error) if a.touch is not None else None
        value = _points((*at, "points"), a.points, tokens, reset_ok=False, error=error)
        rules.append(AccountRule(a.name, a.score, value, when, a.min_people,
                                 a.touched_within_days, match))
    return rules, scores
