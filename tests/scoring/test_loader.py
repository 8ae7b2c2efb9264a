"""The scoring file: the shipped one loads clean; broken ones list every problem with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputError, InputErrors
from mappings.loader import is_reserved
from scoring.loader import load_scoring, scoring_path
from tests.scoring.helpers import HUB, ROOT, rules


def _errors(text: str, *, scores: bool = False) -> list[str]:
    with pytest.raises(InputErrors) as caught:
        rules(text, scores=scores)
    return [str(e) for e in caught.value.errors]


def test_the_shipped_file_loads_clean() -> None:
    scoring = load_scoring(scoring_path(ROOT / "mappings"))
    assert scoring.fed == ("fit_score", "behavior_score", "score_product_a")
    assert list(scoring.formulas) == ["score"]
    assert scoring.account_fields == ("account_score",)
    assert set(scoring.decay) == {"behavior_score", "score_product_a"}
    assert len(scoring.fingerprint) == 64
    assert is_reserved(ROOT / "mappings" / "scoring.yaml")  # never read as a mapping


def test_the_fingerprint_follows_what_the_file_says(tmp_path: Path) -> None:
    text = (ROOT / "mappings" / "scoring.yaml").read_text()
    (tmp_path / "scoring.yaml").write_text(text)
    first = load_scoring(tmp_path / "scoring.yaml", HUB).fingerprint
    (tmp_path / "scoring.yaml").write_text("# a comment\n" + text)
    assert load_scoring(tmp_path / "scoring.yaml", HUB).fingerprint == first
    changed = text.replace("webinar_attended: 30", "webinar_attended: 35")
    (tmp_path / "scoring.yaml").write_text(changed)
    assert load_scoring(tmp_path / "scoring.yaml", HUB).fingerprint != first


def test_score_fields_unknown_tokens_and_overrides() -> None:
    assert _errors("""
scores:
  fit_score: {}
  lead_rank: {}
  title: {}
  score: {formula: "fit_score + nope"}
tokens: {webinar: 30}
overrides:
  - {channel: Webinar, tokens: {webinr: 40}}
  - {tokens: {webinar: 1}}
""") == [
        "scoring.yaml:4 scores.lead_rank: 'lead_rank' is not a field of hub object 'person'; "
        "a score field must be an integer or number field (declare it in hub.yaml)",
        "scoring.yaml:5 scores.title: 'title' is a string field of hub object 'person'; "
        "a score field must be an integer or number field (declare it in hub.yaml)",
        "scoring.yaml:6 scores.score.formula: 'nope' is not a rule-fed score",
        "scoring.yaml:9 overrides[0].tokens.webinr: unknown token 'webinr' (tokens: webinar)",
        "scoring.yaml:10 overrides[1]: give either channel or campaign",
    ]


def test_demographic_rule_problems() -> None:
    assert _errors("""
demographic:
  - {name: A, score: fit_score, points: 5, when: "country ==", cap: {per_day: 1}}
  - {name: B, score: lead_rank, points: "@nope", when: "shoe_size > 3"}
  - {name: C, score: score, points: "=5", when: "account.employees > 3"}
  - {name: D, score: fit_score, points: 5, when: "country == 'FR' x"}
""", scores=True) == [
        "scoring.yaml:9 demographic[0].cap: caps are for behavioral rules: a demographic rule "
        "counts once",
        "scoring.yaml:9 demographic[0].when: syntax error: unexpected 'end of template' "
        "(at character 11)",
        "scoring.yaml:10 demographic[1].score: unknown score 'lead_rank' "
        "(scores: fit_score, behavior_score, score_product_a)",
        "scoring.yaml:10 demographic[1].when: 'shoe_size' is not a person field or "
        "account.<field>",
        "scoring.yaml:10 demographic[1].points: unknown token 'nope' (tokens: none)",
        "scoring.yaml:11 demographic[2].score: 'score' is combined by its formula; rules feed "
        "the scores it reads",
        "scoring.yaml:11 demographic[2].points: \"=N\" (set the score) is for behavioral rules",
        "scoring.yaml:12 demographic[3].when: unexpected 'x' after the expression "
        "(at character 17)",
    ]


def test_behavioral_rule_problems() -> None:
    assert _errors("""
scores: {behavior_score: {}}
behavioral:
  - {name: W, score: behavior_score, points: 5, touch: {type: webinar, colour: red}}
  - {name: X, score: behavior_score, points: ten}
  - {name: Y, score: behavior_score, points: "=0", touch: {type: other}, cap: {total: 3}}
  - {name: Y, score: behavior_score, points: 1, when: "person.title == 'x'"}
""") == [
        "scoring.yaml:4 behavioral[0].touch.type: 'webinar' is not a touch type (allowed: "
        "form_fill, webinar_registration, webinar_attended, event, ad_click, email_click, "
        "web_visit, content_download, sales_touch, other)",
        "scoring.yaml:4 behavioral[0].touch.colour: unknown key 'colour' (known: campaign, "
        "campaign_id, channel, landing_page, medium, origin, source, type, utm_campaign, "
        "utm_content, utm_medium, utm_source, utm_term, detail.<key>)",
        "scoring.yaml:5 behavioral[1]: needs touch: {type: ...} or when: \"<condition on the "
        "touch>\"",
        "scoring.yaml:5 behavioral[1].points: 'ten' is not points: expected a number, "
        "\"@token\" or \"=N\"",
        "scoring.yaml:6 behavioral[2].cap: a rule that sets the score (=N) takes no cap",
        "scoring.yaml:7 behavioral[3].name: rule name 'Y' is used twice",
        "scoring.yaml:7 behavioral[3].when: 'person' is not a touch field",
    ]


def test_decay_and_account_problems() -> None:
    assert _errors("""
scores: {behavior_score: {}}
decay:
  - {score: behavior_score, half_life_days: 30, minus: 5}
  - {score: behavior_score, minus: 5}
  - {score: fit_score, half_life_days: 3, without_touch: true}
account:
  - {name: Z, score: tier, points: 3}
  - {name: Q, points: 3, min_people: 2, when: "revenue > 3"}
""") == [
        "scoring.yaml:4 decay[0]: give either half_life_days, or minus and every_days",
        "scoring.yaml:5 decay[1].score: 'behavior_score' already has a decay",
        "scoring.yaml:5 decay[1]: minus and every_days go together",
        "scoring.yaml:6 decay[2].score: unknown score 'fit_score' (scores: behavior_score)",
        "scoring.yaml:6 decay[2].without_touch: only with minus and every_days",
        "scoring.yaml:8 account[0].score: 'tier' is a string field of hub object 'account'; "
        "a score field must be an integer or number field (declare it in hub.yaml)",
        "scoring.yaml:8 account[0]: needs when: \"<condition on the account>\" or min_people: N",
        "scoring.yaml:9 account[1]: min_people needs touched_within_days",
        "scoring.yaml:9 account[1].when: 'revenue' is not an account field",
    ]


def test_shape_problems_come_from_the_models() -> None:
    assert _errors("""
scores: {fit_score: {}}
behavioral:
  - {name: W, score: fit_score, points: 5, touch: {type: form_fill}, cap: {per_day: 0, weekly: 2}}
  - {nme: V, score: fit_score, points: 5}
decay: {score: fit_score}
""") == [
        "scoring.yaml:4 behavioral[0].cap.per_day: must be greater than 0",
        "scoring.yaml:4 behavioral[0].cap.weekly: unknown key 'weekly' (known: per_day, total)",
        "scoring.yaml:5 behavioral[1].name: required",
        "scoring.yaml:5 behavioral[1].nme: unknown key 'nme' (known: cap, name, points, score, "
        "touch, when)",
        "scoring.yaml:6 decay: expected a list",
    ]


def test_a_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_scoring(tmp_path / "scoring.yaml", HUB)
    (tmp_path / "scoring.yaml").write_text("scores: {fit_score: {}}\nscores: {}\n")
    with pytest.raises(InputError, match=r"scoring.yaml:2 scores: duplicate key"):
        load_scoring(tmp_path / "scoring.yaml", HUB)
