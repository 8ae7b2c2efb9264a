"""Why a referenced record is not linked yet: still on its way, or kept out by its own mappings.

A campaign member names its person through the person's mappings (``ref:``). Usually the
person is just not synced yet, and the member waits (UNRESOLVED_REFERENCE, retried with
backoff). But when every mapping the reference names keeps that person out (its sync_rule or
pull_rule says no, or it never creates such records), waiting cannot help: the member fails
with REFERENCE_EXCLUDED, naming the mapping and the setting, until someone changes the person
or the rule and retries it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from connectors.base import Change, Connector
from connectors.errors import ErrorKind
from core.hubschema import HubSchema
from core.models import HUB_MODELS, Link
from core.sequence import touch
from jobs.failures import REFERENCE_EXCLUDED, Failure, FailureLog
from jobs.matching import find_hub_matches, remote_match_keys
from mappings.expressions import ExpressionError
from mappings.spec import Mapping


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One mapping keeping a referenced record out, and the setting of that mapping that does.

    ``setting`` is the mapping key (``sync_rule``, ``pull_rule``, ``create.remote``,
    ``create.hub``, ``create.unless_linked_to``, ``enabled``) and ``text`` its value as the
    mapping file spells it, so a finer explanation (which clause of a rule) can start here.
    """

    mapping: str
    setting: str
    text: str
    #: How the error message says it ("dynamics-lead by its sync_rule `...`").
    phrase: str
    #: What would let the record through ("change dynamics-lead's sync_rule or the person").
    fix: str


def excluded_failure(
    field: str, parent: str, exclusions: Sequence[Exclusion], *, follows: bool
) -> Failure:
    """The error of a record whose referenced record its mappings keep out.

    Validation, like a rule that fails: the mappings are valid, but this record's data (through
    the record it names) does not pass their rules, and only a change of data or rule helps.
    ``follows``: the record goes by itself once the other one links (see ``wake_waiting``).
    """
    kept_out = " and out of ".join(e.phrase for e in exclusions)
    fixes = "; or ".join(dict.fromkeys(e.fix for e in exclusions))
    return Failure(
        ErrorKind.VALIDATION,
        f"{field}: {parent} is kept out of {kept_out}, so it is never synced there and this "
        "record cannot refer to it",
        code=REFERENCE_EXCLUDED,
        field=field,
        hint=f"{fixes}; "
        + ("this record follows as soon as it syncs there" if follows else "then retry this error"),
    )


def push_exclusions(
    session: Session,
    mappings: dict[str, Mapping],
    schema: HubSchema,
    refs: Iterable[str],
    parent_id: str,
) -> list[Exclusion]:
    """Why each mapping in ``refs`` will never create or link hub record ``parent_id``.

    Empty unless every one of them keeps it out: one that might still link it means waiting.
    """
    found: list[Exclusion] = []
    for name in dict.fromkeys(refs):
        mapping = mappings.get(name)
        why = _push_exclusion(session, mapping, schema, parent_id) if mapping else None
        if why is None:
            return []
        found.append(why)
    return found


def _push_exclusion(
    session: Session, mapping: Mapping, schema: HubSchema, parent_id: str
) -> Exclusion | None:
    parent = session.get(HUB_MODELS[mapping.hub_object], parent_id)
    noun = mapping.hub_object
    if parent is None:
        return None
    if not mapping.enabled:
        return _disabled(mapping)
    if not mapping.direction.pushes:
        return None  # it may still come in from the remote side and link there
    if parent.deleted_at is not None:
        return Exclusion(
            mapping.name, "deleted", "deleted_at",
            f"{mapping.name}, because it is deleted in the hub",
            f"restore the {noun}, or point this record at another one",
        )
    try:
        allowed = mapping.allows_push(schema.values(parent))
    except ExpressionError:
        return None  # the parent fails with RULE_FAILED of its own: that error says why
    if not allowed:
        return _by_rule(mapping, "sync_rule", f"the {noun}", "out")
    takers = mapping.create.unless_linked_to
    if takers and _linked_to(session, mapping, parent_id, takers):
        named = ", ".join(takers)
        return Exclusion(
            mapping.name, "create.unless_linked_to", f"[{named}]",
            f"{mapping.name}, which makes no {mapping.remote_object} for a {noun} linked to "
            f"a {named} (create.unless_linked_to)",
            f"add a mapping of {named} to this record's ref",
        )
    if not mapping.create.remote:
        return Exclusion(
            mapping.name, "create.remote", "false",
            f"{mapping.name}, which never creates a {mapping.remote_object} in "
            f"{mapping.connection} (create.remote: false)",
            f"create the {mapping.remote_object} in {mapping.connection}, or set "
            f"create.remote in {mapping.name}",
        )
    return None


def pull_exclusions(
    connector: Connector,
    session: Session,
    mappings: dict[str, Mapping],
    connection: str,
    wanted: Sequence[tuple[tuple[str, ...], str]],
) -> dict[str, list[Exclusion]]:
    """Remote id → why every mapping in its refs keeps that remote record out of the hub.

    ``wanted`` holds (ref mapping names, referenced remote id) pairs. The referenced records
    are read (one lookup per mapping and page) only where a rule could keep them out; ids
    that some mapping may still bring in are left out of the answer.
    """
    candidates: dict[str, list[str]] = {}
    for refs, remote_id in wanted:
        for name in refs:
            mapping = mappings.get(name)
            if mapping is not None and mapping.connection == connection and _may_refuse(mapping):
                candidates.setdefault(name, []).append(remote_id)
    reasons: dict[tuple[str, str], Exclusion] = {}
    for name, ids in candidates.items():
        mapping = mappings[name]
        for remote_id, why in _pull_exclusions(connector, session, mapping, ids).items():
            reasons[(name, remote_id)] = why
    found: dict[str, list[Exclusion]] = {}
    for refs, remote_id in wanted:
        whys = [reasons.get((name, remote_id)) for name in dict.fromkeys(refs)]
        if whys and all(why is not None for why in whys):
            found[remote_id] = [why for why in whys if why is not None]
    return found


def _may_refuse(mapping: Mapping) -> bool:
    """Can this mapping keep a remote record out for good (so reading it is worth a call)?"""
    return not mapping.enabled or (
        mapping.direction.pulls and (mapping.pull_rule is not None or not mapping.create.hub)
    )


def _pull_exclusions(
    connector: Connector, session: Session, mapping: Mapping, remote_ids: list[str]
) -> dict[str, Exclusion]:
    if not mapping.enabled:
        return {remote_id: _disabled(mapping) for remote_id in remote_ids}
    info = connector.describe([mapping.remote_object])[mapping.remote_object]
    found = connector.lookup(
        mapping.remote_object,
        info.key_field,
        list(dict.fromkeys(remote_ids)),
        fields=mapping.remote_read_fields(),
    )
    reasons: dict[str, Exclusion] = {}
    for change in found:
        why = _pull_exclusion(session, mapping, change)
        if why is not None:
            reasons[change.key] = why
    return reasons


def _pull_exclusion(session: Session, mapping: Mapping, change: Change) -> Exclusion | None:
    try:
        allowed = mapping.allows_pull(change.fields)
    except ExpressionError:
        return None  # the parent fails with RULE_FAILED of its own: that error says why
    if not allowed:
        record = f"the {mapping.remote_object} in {mapping.connection}"
        return _by_rule(mapping, "pull_rule", record, "in")
    if not mapping.create.hub:
        matches, _taken = find_hub_matches(
            session, mapping, remote_match_keys(mapping, change.fields)
        )
        if not matches:
            return Exclusion(
                mapping.name, "create.hub", "false",
                f"{mapping.name}, which never creates a hub {mapping.hub_object} "
                "(create.hub: false) and finds none that matches it",
                f"create the matching {mapping.hub_object} in the hub, or set create.hub in "
                f"{mapping.name}",
            )
    return None


def _by_rule(mapping: Mapping, setting: str, subject: str, way: str) -> Exclusion:
    """``sync_rule`` or ``pull_rule`` says no: name it, with its text as the file spells it."""
    text = getattr(mapping, setting) or ""
    return Exclusion(
        mapping.name, setting, text,
        f"{mapping.name} by its {setting} `{text}`",
        f"change {mapping.name}'s {setting}, or {subject}, so that the rule lets it {way}",
    )


def _disabled(mapping: Mapping) -> Exclusion:
    return Exclusion(
        mapping.name, "enabled", "false",
        f"{mapping.name}, which is switched off (enabled: false)",
        f"switch {mapping.name} on",
    )


def _linked_to(session: Session, mapping: Mapping, hub_id: str, objects: list[str]) -> bool:
    """Is the hub record linked to one of ``objects`` on the mapping's connection?"""
    return (
        session.exec(
            select(Link.id).where(
                Link.hub_object == mapping.hub_object,
                Link.hub_id == hub_id,
                Link.connection == mapping.connection,
                col(Link.remote_object).in_(objects),
            )
        ).first()
        is not None
    )


def wake_waiting(
    session: Session,
    mappings: dict[str, Mapping],
    linked: Sequence[Link],
    now: datetime,
) -> None:
    """Records waiting for the hub records of these new links are due now.

    Their retry would otherwise wait out its backoff (hours, late in the schedule), or an
    admin's retry after a REFERENCE_EXCLUDED, although the one thing they waited for just
    happened; the next sweep sends them instead. Only the records a push waits for are known
    by hub id here: a pulled record's wait keeps its backoff.
    """
    scopes: dict[tuple[str, str, str], list[str]] = {}
    for link in linked:
        scope = (link.hub_object, link.connection, link.remote_object)
        scopes.setdefault(scope, []).append(link.hub_id)
    for scope, ids in scopes.items():
        # Mappings of one remote object share its links: any of them may be the ref.
        names = {
            name for name, m in mappings.items()
            if (m.hub_object, m.connection, m.remote_object) == scope
        }
        for mapping in mappings.values():
            fields = {row.hub for row in mapping.fields if row.hub and names & set(row.refs)}
            if fields and mapping.direction.pushes:
                _wake(session, mapping, fields, ids, now)
                scoped = fields & set(mapping.push_only_linked)
                if scoped:
                    _bring_in_scope(session, mapping, scoped, ids)


def _bring_in_scope(
    session: Session, mapping: Mapping, fields: set[str], parent_ids: list[str]
) -> None:
    """Records ``push_only_linked`` skipped for want of these parents go out with the next push.

    They were skipped, not failed: no error waits to be woken, and their own data did not
    change, so a new change sequence is what shows the push they are due (a member of a
    person who just became a Lead follows them to Salesforce).
    """
    model = HUB_MODELS[mapping.hub_object]
    children = session.exec(select(model).where(
        or_(*(col(getattr(model, name)).in_(parent_ids) for name in sorted(fields))),
        col(model.deleted_at).is_(None),
    ))
    for child in children:
        touch(session, child)


def _wake(
    session: Session, mapping: Mapping, fields: set[str], parent_ids: list[str], now: datetime
) -> None:
    model = HUB_MODELS[mapping.hub_object]
    children = select(model.id).where(
        or_(*(col(getattr(model, name)).in_(parent_ids) for name in sorted(fields)))
    )
    FailureLog(session, mapping.name, "to_remote", None, now).wake(children)
