"""Why a hub record does or does not sync, per mapping: the one answer every screen renders.

For each mapping of the record's hub object: does the record go out (direction, enabled,
deleted and the ``deletes`` policy, ``sync_rule`` with the failing clauses named, link or
create policy, ``unless_linked_to``), does its remote record come in (direction, link,
``pull_rule`` evaluated on the link's snapshot: no remote call is ever made), its open errors,
and whether a change is waiting for the next cycle (its ``change_seq`` past the push cursor).

:func:`~jobs.explain.judge.judge` is pure: it decides from facts already loaded (the types in
:mod:`jobs.explain.facts`). :func:`~jobs.explain.load.explain_record` loads those facts for one
record. The person page, the mapping preview and ``syncline explain`` all show what these
return, so they cannot tell an admin different stories.
"""

from jobs.explain.facts import (
    HEADLINES,
    ErrorFacts,
    Flow,
    HubFacts,
    LinkFacts,
    MappingFacts,
    MappingVerdict,
    Reason,
    RecordExplanation,
    Verdict,
)
from jobs.explain.judge import judge
from jobs.explain.load import about_record, explain_record, hub_facts

__all__ = [
    "HEADLINES",
    "ErrorFacts",
    "Flow",
    "HubFacts",
    "LinkFacts",
    "MappingFacts",
    "MappingVerdict",
    "Reason",
    "RecordExplanation",
    "Verdict",
    "about_record",
    "explain_record",
    "hub_facts",
    "judge",
]
