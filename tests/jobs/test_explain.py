"""Why a hub record does or does not sync: the verdict for each reason, then real cycles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from core.hubschema import HubSchema
from core.models import Person, SyncError
from jobs.explain import (
    ErrorFacts,
    HubFacts,
    LinkFacts,
    MappingFacts,
    MappingVerdict,
    Verdict,
    explain_record,
    judge,
)
from mappings.loader import load_mapping
from mappings.spec import Mapping
from tests.jobs.harness import Harness, mapping

RULE = "email and not unsubscribed and (score >= 40 or lifecycle_stage in ['MQL', 'SQL'])"
ANN = {
    "id": "a" * 32,
    "email": "ann@example.com",
    "unsubscribed": False,
    "score": 12,
    "lifecycle_stage": "Lead",
}
LEAD = LinkFacts("crm", "Lead", "00Q1", snapshot={"Email": "ann@example.com", "LeadSource": "Web"})
RETRY_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def load(tmp_path: Path) -> Any:
    """A Mapping from the harness's lead mapping with top-level keys replaced."""

    def build(**overrides: Any) -> Mapping:
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump(mapping(**overrides), sort_keys=False))
        return load_mapping(path, hub_schema=HubSchema.standard())

    return build


def hub(change_seq: int = 10, *, deleted: bool = False, **values: Any) -> HubFacts:
    return HubFacts("person", ANN["id"], {**ANN, **values}, change_seq, deleted=deleted)


def error(**fields: Any) -> ErrorFacts:
    values: dict[str, Any] = {
        "id": 7, "direction": "to_remote", "level": "record", "kind": "validation",
        "code": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Phone is required",
        "hint": "fill in the phone", "status": "open", "attempts": 2, "next_retry_at": None,
    }  # fmt: skip
    values.update(fields)
    return ErrorFacts(**values)


def codes(verdict: MappingVerdict, way: str = "out") -> list[str]:
    flow = verdict.outbound if way == "out" else verdict.inbound
    return [reason.code for reason in flow.reasons]


def texts(verdict: MappingVerdict, way: str = "out") -> str:
    flow = verdict.outbound if way == "out" else verdict.inbound
    return " | ".join(reason.text for reason in flow.reasons)


# -- the verdict, one reason at a time ----------------------------------------------------------


def test_a_false_sync_rule_names_the_clauses_and_the_values(load: Any) -> None:
    verdict = judge(load(sync_rule=RULE), hub(), MappingFacts(push_cursor=5))
    assert verdict.outbound.verdict is Verdict.NO
    assert verdict.outbound.headline == "does not go out"
    [reason] = verdict.outbound.reasons
    assert reason.code == "sync_rule"
    assert reason.text == f"the sync_rule `{RULE}` is false, so it does not go out"
    assert [c.sentence for c in reason.clauses] == [
        "`score >= 40` was false: score is 12",
        "`lifecycle_stage in ['MQL', 'SQL']` was false: lifecycle_stage is 'Lead'",
    ]


def test_a_linked_record_the_rule_now_excludes_keeps_its_remote_values(load: Any) -> None:
    verdict = judge(load(sync_rule="score >= 40"), hub(), MappingFacts(link=LEAD, push_cursor=5))
    assert verdict.outbound.verdict is Verdict.NO
    assert codes(verdict) == ["sync_rule", "linked"]
    assert "Lead 00Q1 stays linked and keeps the values last sent" in texts(verdict)


def test_a_rule_that_fails_names_the_clause_that_cannot_be_evaluated(load: Any) -> None:
    verdict = judge(load(sync_rule="score - 'x' > 1"), hub(), MappingFacts(push_cursor=5))
    [reason] = verdict.outbound.reasons
    assert verdict.outbound.verdict is Verdict.NO
    assert reason.text.startswith("the sync_rule `score - 'x' > 1` fails for this record")
    assert reason.clauses[0].text == "score - 'x'"


def test_a_linked_record_sends_updates_and_says_when(load: Any) -> None:
    waiting = judge(load(), hub(change_seq=12), MappingFacts(link=LEAD, push_cursor=10))
    assert waiting.outbound.verdict is Verdict.YES
    assert codes(waiting) == ["linked", "pending"]
    assert "linked to Lead 00Q1: its changes go out as updates" in texts(waiting)
    assert ("waiting for the next cycle: its change 12 is newer than what crm-person has "
            "pushed up to 10") in texts(waiting)
    assert waiting.pending == (12, 10)
    done = judge(load(), hub(change_seq=9), MappingFacts(link=LEAD, push_cursor=10))
    assert codes(done) == ["linked", "up_to_date"] and done.pending is None


def test_an_unlinked_record_is_matched_or_created_at_its_next_push(load: Any) -> None:
    verdict = judge(load(), hub(change_seq=12), MappingFacts(push_cursor=None))
    assert verdict.outbound.verdict is Verdict.YES
    assert codes(verdict) == ["not_linked", "pending"]
    assert ("the next push looks for a Lead with email 'ann@example.com' and links it, or "
            "creates one") in texts(verdict)
    assert "crm-person has not pushed anything yet" in texts(verdict)


def test_an_unlinked_record_the_last_push_left_out_waits_for_its_next_change(load: Any) -> None:
    verdict = judge(load(), hub(change_seq=8), MappingFacts(push_cursor=10))
    assert verdict.outbound.verdict is Verdict.NO
    assert codes(verdict) == ["not_linked", "unchanged"]
    assert "it goes out at its next change" in texts(verdict)


def test_create_policy_no_remote_creates(load: Any) -> None:
    policy = load(create={"remote": False, "hub": True})
    verdict = judge(policy, hub(), MappingFacts(push_cursor=5))
    assert verdict.outbound.verdict is Verdict.NO
    assert codes(verdict) == ["create_policy"]
    assert ("not linked to a Lead, and create.remote is false: none is created for it; it is "
            "linked only when a Lead with email 'ann@example.com' is read from crm"
            ) in texts(verdict)
    # Pushing only, a match is still looked for: whether one exists is up to the CRM.
    one_way = load(create={"remote": False, "hub": True}, direction="to_remote")
    maybe = judge(one_way, hub(change_seq=12), MappingFacts(push_cursor=5))
    assert maybe.outbound.verdict is Verdict.UNKNOWN
    assert maybe.outbound.headline == "may go out"
    assert "create.remote is false, so none is created" in texts(maybe)


def test_unless_linked_to_keeps_a_converted_person_from_getting_a_new_lead(load: Any) -> None:
    contact = LinkFacts("crm", "Contact", "0031")
    policy = load(create={"remote": True, "hub": True, "unless_linked_to": ["Contact"]})
    verdict = judge(policy, hub(), MappingFacts(taken_over=(contact,), push_cursor=5))
    assert verdict.outbound.verdict is Verdict.NO
    assert codes(verdict) == ["taken_over"]
    assert ("linked to Contact 0031, and create.unless_linked_to names Contact: no Lead is "
            "matched or created for it") in texts(verdict)


def test_a_disabled_mapping_moves_nothing(load: Any) -> None:
    verdict = judge(load(enabled=False), hub(), MappingFacts(link=LEAD, push_cursor=None))
    for way in ("out", "in"):
        assert codes(verdict, way) == ["disabled"]
    assert verdict.outbound.verdict is Verdict.NO and verdict.inbound.verdict is Verdict.NO
    assert "crm-person is disabled (enabled: false)" in texts(verdict)


def test_the_direction_rules_out_one_way(load: Any) -> None:
    pull_only = judge(load(direction="to_hub", rules={"score": "two_way"}), hub(),
                      MappingFacts(link=LEAD))
    assert pull_only.outbound.verdict is Verdict.NOT_APPLICABLE
    assert pull_only.outbound.headline == "never goes out"
    assert texts(pull_only) == ("direction is to_hub: hub records never go out to Lead through "
                                "this mapping")
    assert pull_only.pending is None
    push_only = judge(load(direction="to_remote"), hub(), MappingFacts(link=LEAD))
    assert push_only.inbound.verdict is Verdict.NOT_APPLICABLE
    assert "Lead records never come into the hub" in texts(push_only, "in")


@pytest.mark.parametrize(
    ("policy", "expected", "text"),
    [
        ("ignore", Verdict.NO, "deletes.from_hub is ignore, so Lead 00Q1 stays in crm"),
        ("unlink", Verdict.NO, "the link to Lead 00Q1 is dropped and the record stays in crm"),
        ("delete_remote", Verdict.YES, "delete_remote: Lead 00Q1 is deleted in crm"),
    ],
)
def test_a_deleted_record_follows_the_deletes_policy(
    load: Any, policy: str, expected: Verdict, text: str
) -> None:
    verdict = judge(load(deletes={"from_hub": policy}), hub(deleted=True),
                    MappingFacts(link=LEAD, push_cursor=5))
    assert verdict.outbound.verdict is expected
    assert text in texts(verdict)
    assert verdict.inbound.verdict is Verdict.NO
    assert "deleted in the hub: changes to Lead 00Q1 are not brought back" in texts(verdict, "in")


def test_an_open_push_error_keeps_the_record_back_with_its_hint(load: Any) -> None:
    failing = error()
    verdict = judge(load(), hub(), MappingFacts(push_cursor=10, errors=(failing,)))
    assert verdict.outbound.verdict is Verdict.NO
    assert codes(verdict) == ["not_linked", "open_error"]
    assert ("the last push failed: FIELD_CUSTOM_VALIDATION_EXCEPTION: Phone is required (waits "
            "for a fix; 2 attempt(s) so far)") in texts(verdict)
    assert verdict.errors == (failing,) and verdict.errors[0].hint == "fill in the phone"
    retrying = error(status="retrying", next_retry_at=RETRY_AT, code="UNABLE_TO_LOCK_ROW")
    later = judge(load(), hub(), MappingFacts(link=LEAD, push_cursor=5, errors=(retrying,)))
    assert "retried automatically at 2026-03-01 09:30:00 UTC, attempt 3" in texts(later)
    # A pull error is about the other way.
    assert later.inbound.verdict is Verdict.YES


def test_a_refused_field_is_named_without_holding_the_record_back(load: Any) -> None:
    refused = error(code="FIELD_REFUSED", field="Phone",
                    message="Phone: bad value for restricted picklist field: call after 5pm")
    verdict = judge(load(), hub(), MappingFacts(link=LEAD, push_cursor=5, errors=(refused,)))
    assert verdict.outbound.verdict is not Verdict.NO
    assert "open_error" not in codes(verdict)
    assert ("Phone was left out of the last push: FIELD_REFUSED: Phone: bad value for "
            "restricted picklist field: call after 5pm (waits for a fix") in texts(verdict)


def test_a_stopped_cycle_stops_both_ways(load: Any) -> None:
    braked = error(level="job", direction="cycle", code="MASS_CHANGE_BRAKE",
                   message="this cycle would delete 40 of 100 linked records")
    verdict = judge(load(), hub(), MappingFacts(link=LEAD, push_cursor=5, errors=(braked,)))
    for way in ("out", "in"):
        assert codes(verdict, way)[-1] == "cycle_error"
    assert verdict.outbound.verdict is Verdict.NO and verdict.inbound.verdict is Verdict.NO
    assert "the last cycle of crm-person stopped: MASS_CHANGE_BRAKE" in texts(verdict)


def test_the_pull_rule_is_checked_on_the_last_synced_snapshot(load: Any) -> None:
    kept_out = judge(load(pull_rule="LeadSource != 'Web'"), hub(), MappingFacts(link=LEAD))
    assert kept_out.inbound.verdict is Verdict.NO
    [reason] = kept_out.inbound.reasons
    assert reason.text == ("the pull_rule `LeadSource != 'Web'` is false, so changes to Lead 00Q1 "
                           "do not come in (checked on its last-synced values)")
    assert [c.sentence for c in reason.clauses] == [
        "`LeadSource != 'Web'` was false: LeadSource is 'Web'"
    ]
    comes_in = judge(load(pull_rule="LeadSource == 'Web'"), hub(), MappingFacts(link=LEAD))
    assert comes_in.inbound.verdict is Verdict.YES
    assert texts(comes_in, "in") == "linked to Lead 00Q1: its changes come in"


def test_a_pull_rule_on_a_field_the_snapshot_lacks_is_not_guessed(load: Any) -> None:
    verdict = judge(load(pull_rule="Status == 'Open'"), hub(), MappingFacts(link=LEAD))
    assert verdict.inbound.verdict is Verdict.UNKNOWN
    assert "reads Status, which the last sync of Lead 00Q1 did not keep" in texts(verdict, "in")


def test_an_unlinked_record_brings_nothing_in(load: Any) -> None:
    verdict = judge(load(), hub(email=None), MappingFacts())
    assert verdict.inbound.verdict is Verdict.NO
    assert texts(verdict, "in") == (
        "not linked to a Lead: nothing comes in for it until a Lead with a matching email (this "
        "record has none) is read from crm"
    )


def test_as_json_carries_the_verdicts_reasons_and_clauses(load: Any) -> None:
    data = judge(load(sync_rule="score >= 40"), hub(), MappingFacts(link=LEAD, push_cursor=5))
    as_json = data.as_json()
    assert as_json["out"]["verdict"] == "no"
    assert as_json["out"]["reasons"][0]["clauses"][0]["values"] == {"score": 12}
    assert as_json["link"] == {"remote_object": "Lead", "remote_id": "00Q1", "synced_at": None}


# -- loaded from the database after real cycles ------------------------------------------------


def explain(h: Harness, person_id: str) -> MappingVerdict:
    with Session(h.engine) as session:
        person = session.get(Person, person_id)
        assert person is not None
        found = explain_record(session, h.mappings, HubSchema.standard(), "person", person)
    [verdict] = found.mappings
    return verdict


def test_after_real_cycles_the_verdict_follows_the_record(engine: Engine, tmp_path: Path) -> None:
    h = Harness(engine, tmp_path, mapping(sync_rule="score >= 40"))
    ann = h.add_person(email="ann@example.com", last_name="Ng", score=12)
    before = explain(h, ann)
    assert codes(before) == ["sync_rule"]
    assert before.outbound.reasons[0].clauses[0].sentence == "`score >= 40` was false: score is 12"
    h.run()
    assert h.leads() == []  # the rule kept her out, as the explanation said

    h.edit_person(ann, score=55)
    waiting = explain(h, ann)
    assert waiting.outbound.verdict is Verdict.YES and codes(waiting) == ["not_linked", "pending"]
    h.run()
    synced = explain(h, ann)
    assert codes(synced) == ["linked", "up_to_date"]
    assert synced.link is not None and synced.link.remote_id == h.lead_by_email(
        "ann@example.com")["Id"]
    assert synced.inbound.verdict is Verdict.YES


def test_an_open_error_from_a_real_cycle_is_shown_with_its_retry(
    engine: Engine, tmp_path: Path
) -> None:
    h = Harness(engine, tmp_path)
    ann = h.add_person(email="ann@example.com", last_name="Ng")
    h.crm.lock_row("Lead", "Email", "ann@example.com", times=5)
    h.run()
    [row] = h.errors("retrying")
    verdict = explain(h, ann)
    assert verdict.outbound.verdict is Verdict.NO
    assert [e.id for e in verdict.errors] == [row.id]
    assert verdict.errors[0].code == "UNABLE_TO_LOCK_ROW"
    assert "the last push failed: UNABLE_TO_LOCK_ROW" in texts(verdict)
    assert "retried automatically at" in texts(verdict)


def test_errors_of_other_people_are_not_shown(engine: Engine, tmp_path: Path) -> None:
    h = Harness(engine, tmp_path)
    ann = h.add_person(email="ann@example.com", last_name="Ng")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    h.add(SyncError(fingerprint="other", mapping="crm-person", direction="to_remote",
                    kind="validation", message="not hers", hub_id="b" * 32,
                    email="bob@example.com", first_seen=now, last_seen=now))
    assert explain(h, ann).errors == ()
