from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputErrors
from lifecycle.loader import lifecycle_path, load_lifecycle
from mappings.loader import load_mappings

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"


def _errors(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "hub.yaml").write_text("person:\n  lead_status: {type: string}\n")
    path = tmp_path / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        load_lifecycle(path)
    return [str(e) for e in caught.value.errors]


def test_the_shipped_file_loads_clean_and_is_not_taken_for_a_mapping() -> None:
    lifecycle = load_lifecycle(lifecycle_path(SHIPPED))
    assert lifecycle is not None
    assert [s.name for s in lifecycle.stages if not s.detour] == [
        "Anonymous", "Known", "Engaged", "MQL", "SAL", "SQL", "Opportunity", "Customer"]
    assert [s.name for s in lifecycle.stages if s.detour] == ["Recycled", "Disqualified",
                                                              "Nurture"]
    assert lifecycle.aql is not None and len(lifecycle.aql.complete) == 4
    assert lifecycle.stage("mql").name == "MQL"  # type: ignore[union-attr]
    assert "lifecycle" not in load_mappings(SHIPPED)


def test_a_missing_file_means_no_lifecycle(tmp_path: Path) -> None:
    assert load_lifecycle(tmp_path / "lifecycle.yaml") is None


def test_fields_are_held_to_the_hub_schema(tmp_path: Path) -> None:
    errors = _errors(tmp_path, """\
stages:
  - Known
  - {name: MQL, sets: {lead_stage: MQL, lead_status: 7, email: null}}
  - {name: Recycled, detour: true, sets: {aql: maybe}}
transitions:
  - {to: Recycled, from: [MQL], crm: {status: [Recycled]}, recycle: true}
""")
    source = str(tmp_path / "lifecycle.yaml")
    assert errors == [
        f"{source}:3 stages[1].sets.lead_stage: the hub has no person field 'lead_stage' "
        "(declare custom fields in hub.yaml)",
        f"{source}:4 stages[2].sets.aql: aql: 'maybe' is not true or false",
        f"{source}:6 transitions[0].crm.status: the hub has no person field 'status' "
        "(declare custom fields in hub.yaml)",
    ]


def test_a_stage_sets_fields_coerced_to_their_type(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text("person:\n  lead_status: {type: string}\n")
    path = tmp_path / "lifecycle.yaml"
    path.write_text("stages: [Known, {name: MQL, sets: {lead_status: 7, aql: 'true'}}]\n")
    lifecycle = load_lifecycle(path)
    assert lifecycle is not None
    assert dict(lifecycle.stage("MQL").sets) == {"lead_status": "7", "aql": True}  # type: ignore[union-attr]
    assert dict(lifecycle.stage("Known").sets) == {}  # type: ignore[union-attr]


def test_every_problem_is_reported_with_file_line_and_path(tmp_path: Path) -> None:
    errors = _errors(tmp_path, """\
stages:
  - Known
  - MQL
  - SQL
  - known
  - {name: Recycled, detour: true}
transitions:
  - {to: MQL, when: "score >= 60"}
  - {to: Won, when: "score"}
  - {to: MQL, from: [SQL], when: "score >= 60"}
  - {to: Recycled, crm: {lead_status: [Recycled]}}
  - {to: SQL, when: "score >=", crm: {lead_status: [Qualified]}}
  - {to: SQL, from: [Nowhere], when: "score >= ("}
  - {to: SQL, from: [], opportunity: won}
aql:
  titles: [VP, "/([/"]
  complete: [first_name, []]
  behavior_score: {field: behavior_score, min: 30}
  account_score: {field: account_score, min: 50}
""")
    source = str(tmp_path / "lifecycle.yaml")
    assert errors == [
        f"{source}:5 stages[3]: stage 'known' is listed twice (names are compared without case)",
        f"{source}:9 transitions[1].to: no stage named 'Won' (stages: Known, MQL, SQL, Recycled)",
        f"{source}:10 transitions[2].from[0]: 'SQL' is not before 'MQL': only a rule with "
        "recycle: true may move a person back or sideways",
        f"{source}:11 transitions[3].to: 'Recycled' is a detour: only a rule with recycle: true "
        "may move a person there",
        f"{source}:12 transitions[4]: needs exactly one trigger of when, crm, opportunity, "
        "idle_days (has: when, crm)",
        f"{source}:12 transitions[4].when: syntax error: unexpected 'end of template'",
        f"{source}:13 transitions[5].from[0]: no stage named 'Nowhere' (stages: Known, MQL, SQL, "
        "Recycled)",
        f"{source}:13 transitions[5].when: syntax error: unexpected 'end of template'",
        f"{source}:14 transitions[6].from: needs at least one stage (or from: any; leave it "
        "out for any main-path stage)",
        f"{source}:16 aql.titles[1]: not a valid regex: unterminated character set at "
        "position 1",
        f"{source}:17 aql.complete[1]: expected a field name, or a list of fields of which one "
        "must be filled",
    ]


def test_shape_errors_name_the_key(tmp_path: Path) -> None:
    errors = _errors(tmp_path, """\
stages: []
transitions:
  - {to: MQL, from: anywhere, opportunity: signed, recylce: true}
  - {to: SQL, idle_days: 0}
aql:
  titles: []
  complete: [email]
  behavior_score: {field: behavior_score}
""")
    source = str(tmp_path / "lifecycle.yaml")
    assert errors == [
        f"{source}:1 stages: needs at least one entry",
        f"{source}:3 transitions[0].from: expected a list of stages, or any",
        f"{source}:3 transitions[0].opportunity: 'signed' is not an allowed value "
        "(allowed: created, won)",
        f"{source}:3 transitions[0].recylce: unknown key 'recylce' (known: crm, from, "
        "idle_days, opportunity, recycle, to, when)",
        f"{source}:4 transitions[1].idle_days: must be at least 1",
        f"{source}:5 aql.account_score: required (e.g. account_score: {{field: account_score, "
        "min: 50})",
        f"{source}:6 aql.titles: needs at least one entry",
        f"{source}:8 aql.behavior_score.min: required (the lowest passing score, e.g. min: 30)",
    ]
