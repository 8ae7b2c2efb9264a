"""The attribution file: the shipped one loads, and every mistake is named as file:line path."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from attribution import (
    BUILTIN_MODELS,
    AttributionSettings,
    PositionModel,
    TimeDecayModel,
    load_settings,
    parse_settings,
)
from core.errors import InputError
from mappings.loader import mapping_paths
from tests.attribution.journeys import NOW, deal, marketo_touches, touch

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "mappings" / "attribution.yaml"


def errors(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_settings(text, "attribution.yaml")
    return str(caught.value).splitlines()


def test_the_shipped_file_declares_every_shipped_model_and_a_custom_one() -> None:
    settings = load_settings(SHIPPED)
    assert settings.people == "contact_roles" and settings.lookback_days == 365
    assert settings.lead_creation_types == {"form_fill", "webinar_registration",
                                            "content_download"}
    names = [m.name for m in settings.models]
    assert names == [*BUILTIN_MODELS, "sales_weighted"]
    custom = settings.model("sales_weighted")
    assert isinstance(custom, PositionModel)
    assert sum(custom.weights.values()) + custom.middle == 1


def test_the_mappings_loader_leaves_the_attribution_file_alone() -> None:
    assert SHIPPED not in mapping_paths(SHIPPED.parent)


def test_an_empty_file_means_every_default() -> None:
    settings = parse_settings("", "attribution.yaml")
    assert settings == AttributionSettings(source="attribution.yaml")
    assert [m.name for m in settings.models] == list(BUILTIN_MODELS)


def test_settings_compute_every_model_with_the_files_lookback_and_lead_types() -> None:
    settings = parse_settings(
        "lookback_days: 3\nlead_creation_types: [ad_click]\nmodels: [lead_creation, linear]\n",
        "attribution.yaml")
    touches = [touch("old", 0, "form_fill"), touch("ad", 2.5, "ad_click"), touch("web", 3)]
    results = settings.attribute(deal(4), touches, NOW)
    assert [r.model for r in results] == ["lead_creation", "linear"]
    assert [(c.touch_id, c.credit) for c in results[0].credits] == [("ad", 1)]
    assert [c.touch_id for c in results[1].credits] == ["ad", "web"]  # day 0 is too early


def test_custom_and_time_decay_entries_build_their_models() -> None:
    settings = parse_settings(
        "models:\n"
        "  - {kind: time_decay, half_life_days: 14}\n"
        "  - {name: recent_decay, kind: time_decay, half_life_days: 1.5}\n"
        "  - {name: w, kind: w_shaped}\n"
        "  - name: heavy_start\n"
        "    kind: custom\n"
        "    weights: {ft: 22.5, lc: 22.5, oc: 45, middle: 10}\n"
        "    middles: before_creation\n",
        "attribution.yaml")
    decay, recent, w, custom = settings.models
    assert decay == TimeDecayModel("time_decay", 14)
    assert recent == TimeDecayModel("recent_decay", 1.5)
    assert w.name == "w" and isinstance(w, PositionModel)
    assert w.weights == BUILTIN_MODELS["w_shaped"].weights  # type: ignore[attr-defined]
    assert isinstance(custom, PositionModel)
    assert custom.weights[next(iter(custom.weights))] == Fraction(9, 40)  # 22.5 %, exactly
    result = custom.attribute(
        settings.journey(deal(4.5, closed=8, won=True), marketo_touches(), NOW))
    assert [(c.touch_id, c.credit) for c in result.credits] == [
        ("t1", Fraction(9, 40)), ("t2", Fraction(9, 40)), ("t3", Fraction(1, 20)),
        ("t4", Fraction(1, 20)), ("t5", Fraction(45, 100))]


def test_every_problem_is_reported_at_once_with_file_line_and_path() -> None:
    assert errors(
        "people: contacts\n"
        "lookback_days: -1\n"
        "lead_creation_types: [form_fil, form_fill, form_fill]\n"
        "models:\n"
        "  - w_shape\n"
        "  - {kind: custom, weights: {ft: 50, lc: 40}}\n"
        "  - {name: x, kind: custom, weights: {ft: 50, lc: 50, foo: 1}}\n"
        "  - {kind: linear, half_life_days: 3}\n"
        "  - {kind: time_decay, half_life_days: 0}\n"
        "  - {name: Bad__name, kind: linear}\n"
        "  - linear\n"
        "  - {name: linear, kind: linear}\n"
        "  - {name: linear, kind: w_shaped}\n"
        "  - {kind: u_shape}\n"
        "  - 3\n"
        "  - {name: y, kind: custom, weights: {ft: '50', lc: 50}}\n"
        "  - {name: z, kind: custom, weights: {ft: 33.3, lc: 33.3, middle: 33.3}}\n"
        "  - {name: v, kind: custom, weights: {ft: 100}, middles: some}\n"
        "  - {name: u}\n"
    ) == [
        "attribution.yaml:1 people: 'contacts' is not a way to find an opportunity's people "
        "(allowed: contact_roles, primary_contact_role, account_contacts)",
        "attribution.yaml:2 lookback_days: must be at least 0",
        "attribution.yaml:3 lead_creation_types[0]: 'form_fil' is not a touch type (allowed: "
        "form_fill, webinar_registration, webinar_attended, event, ad_click, email_click, "
        "web_visit, content_download, sales_touch, other); did you mean 'form_fill'?",
        "attribution.yaml:3 lead_creation_types[2]: 'form_fill' is listed twice",
        "attribution.yaml:5 models[0]: 'w_shape' is not a shipped model (shipped: first_touch, "
        "lead_creation, last_touch, linear, u_shaped, w_shaped, full_path, time_decay); a "
        "custom model is a mapping with name, kind: custom and weights; did you mean "
        "'w_shaped'?",
        "attribution.yaml:6 models[1]: a custom model needs a name",
        "attribution.yaml:6 models[1].weights: the weights add up to 90 %, not 100 %",
        "attribution.yaml:7 models[2].weights.foo: unknown key 'foo' "
        "(known: cw, ft, lc, middle, oc)",
        "attribution.yaml:8 models[3].half_life_days: only for kind time_decay "
        "(this model is linear)",
        "attribution.yaml:9 models[4].half_life_days: must be greater than 0",
        "attribution.yaml:10 models[5].name: 'Bad__name': use lower-case letters, digits and "
        "single underscores, starting with a letter (at most 40)",
        "attribution.yaml:12 models[7]: a second model called 'linear' (the first is "
        "models[6]); give one a name",
        "attribution.yaml:13 models[8].name: 'linear' is a shipped model's name; give this "
        "w_shaped model its own",
        "attribution.yaml:14 models[9].kind: 'u_shape' is not a model kind (allowed: "
        "first_touch, lead_creation, last_touch, linear, u_shaped, w_shaped, full_path, "
        "time_decay, custom)",
        "attribution.yaml:15 models[10]: expected a shipped model's name or a mapping "
        "(name, kind, ...)",
        "attribution.yaml:16 models[11].weights.ft: expected a number",
        "attribution.yaml:17 models[12].weights: the weights add up to 99.9 %, not 100 %",
        "attribution.yaml:18 models[13].middles: 'some' is not a middle range "
        "(allowed: all, between_ft_and_lc, before_creation)",
        "attribution.yaml:19 models[14].kind: required (a shipped model's name, or custom)",
    ]


def test_a_file_on_disk_is_named_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "attribution.yaml"
    path.write_text("people: contact_roles\nmodels: []\nlookback_days: '30'\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_settings(path)
    lines = str(caught.value).splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "models: list at least one model (or leave models out for all)",
        "lookback_days: expected a whole number",
    ]
    assert lines[0].split(" ")[0].endswith("attribution.yaml:2")
    assert lines[1].split(" ")[0].endswith("attribution.yaml:3")


def test_a_top_level_that_is_not_a_mapping() -> None:
    assert errors("- linear\n") == ["attribution.yaml:1: expected a mapping (key: value)"]
