"""The verdict on one hub record under one mapping, from facts already loaded (no I/O)."""

from __future__ import annotations

from jobs.explain.facts import (
    Flow,
    HubFacts,
    LinkFacts,
    MappingFacts,
    MappingVerdict,
    Reason,
    Verdict,
)
from jobs.failures import FIELD_REFUSED
from jobs.pull import DIRECTION as PULL_DIRECTION
from jobs.push import DIRECTION as PUSH_DIRECTION
from mappings.explain import RuleCheck, check_rule, describe
from mappings.expressions import blank
from mappings.spec import Mapping


def judge(mapping: Mapping, hub: HubFacts, facts: MappingFacts) -> MappingVerdict:
    """The record's verdict under ``mapping``, from facts already loaded (no I/O)."""
    return MappingVerdict(
        mapping=mapping.name,
        connection=mapping.connection,
        remote_object=mapping.remote_object,
        direction=mapping.direction.value,
        enabled=mapping.enabled,
        link=facts.link,
        outbound=_outbound(mapping, hub, facts),
        inbound=_inbound(mapping, hub, facts),
        errors=facts.errors,
        pending=(hub.change_seq, facts.push_cursor)
        if mapping.direction.pushes and _pending(hub, facts)
        else None,
    )


def _pending(hub: HubFacts, facts: MappingFacts) -> bool:
    return facts.push_cursor is None or hub.change_seq > facts.push_cursor


def _disabled(mapping: Mapping) -> Reason:
    return Reason(
        "disabled",
        f"the mapping {mapping.name} is disabled (enabled: false): nothing syncs through it "
        "until it is enabled",
    )


def _ruled_out(way: str, mapping: Mapping) -> Flow | None:
    """The flow when the mapping's direction or ``enabled`` alone decides it, else None."""
    remote = mapping.remote_object
    if way == "out" and not mapping.direction.pushes:
        what = f"hub records never go out to {remote}"
    elif way == "in" and not mapping.direction.pulls:
        what = f"{remote} records never come into the hub"
    elif not mapping.enabled:
        return Flow(way, Verdict.NO, (_disabled(mapping),))
    else:
        return None
    text = f"direction is {mapping.direction.value}: {what} through this mapping"
    return Flow(way, Verdict.NOT_APPLICABLE, (Reason("direction", text),))


def _outbound(mapping: Mapping, hub: HubFacts, facts: MappingFacts) -> Flow:
    decided = _ruled_out("out", mapping)
    if decided is not None:
        return decided
    if hub.deleted:
        verdict, reasons = _deleted(mapping, facts.link)
    else:
        verdict, reasons = _outbound_live(mapping, hub, facts)
    return _with_state(verdict, reasons, mapping, hub, facts, PUSH_DIRECTION)


def _deleted(mapping: Mapping, link: LinkFacts | None) -> tuple[Verdict, list[Reason]]:
    policy = mapping.deletes.from_hub
    where = f"in {mapping.connection}"
    if link is None:
        text = f"deleted in the hub and never linked to a {mapping.remote_object}: nothing to do"
        return Verdict.NO, [Reason("deleted", text)]
    if policy == "ignore":
        text = (f"deleted in the hub; deletes.from_hub is ignore, so {link.label} stays {where} "
                "as it is")
        return Verdict.NO, [Reason("deleted", text)]
    if policy == "unlink":
        text = (f"deleted in the hub; deletes.from_hub is unlink: the link to {link.label} is "
                f"dropped and the record stays {where}")
        return Verdict.NO, [Reason("deleted", text)]
    text = (f"deleted in the hub; deletes.from_hub is delete_remote: {link.label} is deleted "
            f"{where}")
    return Verdict.YES, [Reason("deleted", text)]


def _rule_reason(check: RuleCheck, consequence: str) -> Reason:
    if check.error is not None:
        return Reason(
            check.rule,
            f"the {check.rule} `{check.source}` fails for this record, so {consequence}",
            check.clauses,
        )
    return Reason(
        check.rule, f"the {check.rule} `{check.source}` is false, so {consequence}", check.clauses
    )


def _outbound_live(
    mapping: Mapping, hub: HubFacts, facts: MappingFacts
) -> tuple[Verdict, list[Reason]]:
    remote, link = mapping.remote_object, facts.link
    check = check_rule("sync_rule", mapping.sync_rule, hub.values)
    if not check.passed:
        reasons = [_rule_reason(check, "it does not go out")]
        if link is not None:
            reasons.append(
                Reason("linked", f"{link.label} stays linked and keeps the values last sent")
            )
        return Verdict.NO, reasons
    if facts.unlinked_refs:
        named = ", ".join(facts.unlinked_refs)
        text = (f"the record its {named} names is not synced to {mapping.connection}, and "
                f"push_only_linked lists {named}: it is none of this mapping's business until "
                "that record is")
        return Verdict.NO, [Reason("out_of_scope", text)]
    if link is not None:
        return Verdict.YES, [Reason("linked", f"linked to {link.label}: its changes go out as "
                                               "updates")]
    if facts.taken_over:
        other = facts.taken_over[0]
        text = (f"linked to {other.label}, and create.unless_linked_to names "
                f"{other.remote_object}: no {remote} is matched or created for it")
        return Verdict.NO, [Reason("taken_over", text)]
    matched_on = _match_description(mapping, hub)
    if not mapping.create.remote and mapping.create.hub and mapping.direction.pulls:
        text = (f"not linked to a {remote}, and create.remote is false: none is created for "
                f"it; it is linked only when a {remote} with {matched_on} is read from "
                f"{mapping.connection}")
        return Verdict.NO, [Reason("create_policy", text)]
    if mapping.create.remote:
        text = (f"not linked yet: the next push looks for a {remote} with {matched_on} and "
                "links it, or creates one")
        return Verdict.YES, [Reason("not_linked", text)]
    text = (f"not linked yet: the next push links a {remote} with {matched_on} if "
            f"{mapping.connection} has one; create.remote is false, so none is created")
    return Verdict.UNKNOWN, [Reason("create_policy", text)]


def _match_description(mapping: Mapping, hub: HubFacts) -> str:
    """``email 'ann@example.com'``: what the match looks for (the identity's match fields)."""
    parts = []
    for name in mapping.identity.match:
        value = hub.values.get(name)
        parts.append(f"a matching {name} (this record has none)" if blank(value)
                     else f"{name} {describe(value)}")
    return " or ".join(parts) or "a matching identity"


def _with_state(
    verdict: Verdict,
    reasons: list[Reason],
    mapping: Mapping,
    hub: HubFacts,
    facts: MappingFacts,
    direction: str,
) -> Flow:
    """Add what the stored state says: a change waiting to go, errors keeping it back."""
    ours = [e for e in facts.errors if e.level == "record" and e.direction == direction]
    # A refused field kept only itself out: the rest of the record went through.
    refused = [e for e in ours if e.code == FIELD_REFUSED]
    failed = [e for e in ours if e.code != FIELD_REFUSED]
    if direction == PUSH_DIRECTION and verdict is not Verdict.NO:
        verdict = _push_state(verdict, reasons, mapping, hub, facts, stuck=bool(failed))
    way = "push" if direction == PUSH_DIRECTION else "pull"
    for error in failed:
        verdict = Verdict.NO
        reasons.append(Reason("open_error", f"the last {way} failed: {error.sentence}"))
    for error in refused:
        reasons.append(Reason(
            "refused_field", f"{error.field} was left out of the last {way}: {error.sentence}"))
    for error in facts.errors:
        if error.level == "job":
            # A cycle that stopped (the brake, the API budget, a login failure) moves nothing.
            verdict = Verdict.NO
            reasons.append(
                Reason("cycle_error", f"the last cycle of {mapping.name} stopped: {error.sentence}")
            )
    return Flow("out" if direction == PUSH_DIRECTION else "in", verdict, tuple(reasons))


def _push_state(
    verdict: Verdict,
    reasons: list[Reason],
    mapping: Mapping,
    hub: HubFacts,
    facts: MappingFacts,
    *,
    stuck: bool,
) -> Verdict:
    """Whether a change waits for the next push, or the last push already decided."""
    cursor, seq = facts.push_cursor, hub.change_seq
    if _pending(hub, facts):
        pushed = "has not pushed anything yet" if cursor is None else f"has pushed up to {cursor}"
        reasons.append(
            Reason(
                "pending",
                f"waiting for the next cycle: its change {seq} is newer than what "
                f"{mapping.name} {pushed}",
            )
        )
        return verdict
    if facts.link is not None or hub.deleted:
        reasons.append(
            Reason("up_to_date", f"nothing waiting: {mapping.name} has pushed up to {cursor}, "
                                 f"past its last change {seq}")
        )
        return verdict
    if stuck:
        return verdict  # its open error says why; due retries are pushed again by themselves
    # The push only looks at records that changed since its cursor: the cycle that saw this
    # one's last change left it out (the rule or the mapping said otherwise then, or no match).
    reasons.append(
        Reason(
            "unchanged",
            f"it has not changed since {mapping.name} last looked at it (change {seq}, pushed "
            f"up to {cursor}) and it was not sent then: it goes out at its next change",
        )
    )
    return Verdict.NO


def _inbound(mapping: Mapping, hub: HubFacts, facts: MappingFacts) -> Flow:
    decided = _ruled_out("in", mapping)
    if decided is not None:
        return decided
    remote, link = mapping.remote_object, facts.link
    if link is None:
        text = (f"not linked to a {remote}: nothing comes in for it until a {remote} with "
                f"{_match_description(mapping, hub)} is read from {mapping.connection}")
        return _with_state(Verdict.NO, [Reason("not_linked", text)], mapping, hub, facts,
                           PULL_DIRECTION)
    if hub.deleted:
        text = f"deleted in the hub: changes to {link.label} are not brought back"
        return _with_state(Verdict.NO, [Reason("deleted", text)], mapping, hub, facts,
                           PULL_DIRECTION)
    snapshot = link.snapshot or {}
    check = check_rule("pull_rule", mapping.pull_rule, snapshot, known=snapshot.keys())
    if check.passed is None:
        names = ", ".join(check.unknown)
        text = (f"the pull_rule `{check.source}` reads {names}, which the last sync of "
                f"{link.label} did not keep: it is checked when the record next changes in "
                f"{mapping.connection}")
        verdict, reasons = Verdict.UNKNOWN, [Reason("pull_rule", text)]
    elif not check.passed:
        consequence = f"changes to {link.label} do not come in (checked on its last-synced values)"
        verdict, reasons = Verdict.NO, [_rule_reason(check, consequence)]
    else:
        verdict = Verdict.YES
        reasons = [Reason("linked", f"linked to {link.label}: its changes come in")]
    return _with_state(verdict, reasons, mapping, hub, facts, PULL_DIRECTION)
