"""``syncline score run|explain``: score the hub's people and accounts, and say why a score is.

``run`` scores the people and accounts whose fields, touches or account changed since the last
run (``--full``: all, which also brings decay up to date); ``explain`` lists every rule that
gave a person points, when, and what decay took, then its stage history and AQL parts
(``scoring.explain``, as the person's dashboard page shows them). Rules come from
``<mappings>/scoring.yaml`` and ``lifecycle.yaml``.
"""

from __future__ import annotations

import json

import click
from sqlmodel import Session

from cli.context import App, pass_app
from cli.explain import find_records
from core.clock import utcnow
from core.errors import InputError
from core.models import Person
from lifecycle.run import run_lifecycle
from scoring.explain import explain_person, lifecycle_rules
from scoring.loader import load_scoring, scoring_path
from scoring.run import run_scoring
from scoring.spec import Scoring


@click.group("score")
def score_group() -> None:
    """Lead scoring: fit, behaviour and account scores from mappings/scoring.yaml."""


def _rules(app: App) -> Scoring:
    path = scoring_path(app.mappings_dir)
    if not path.is_file():
        raise InputError(str(path), "no scoring file: copy the shipped mappings/scoring.yaml "
                         "and edit its rules")
    return load_scoring(path, hub_schema=app.schema)


@score_group.command("run")
@click.option("--full", is_flag=True, help="Score everyone (and bring decay up to date).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the counts.")
@pass_app
def run_command(app: App, full: bool, as_json: bool) -> None:
    """Score what changed since the last run, then move stages; write only what moved.

    The lifecycle runs after the scores, as in the hub steps, since its rules read them
    (skipped without a lifecycle file).
    """
    report = run_scoring(app.engine, _rules(app), app.schema, full=full)
    counts: dict[str, object] = dict(report.as_json())
    lifecycle = app.lifecycle
    if lifecycle is not None:
        stages = run_lifecycle(app.engine, lifecycle, app.schema, full=full)
        counts["lifecycle"] = stages.as_json()
    if as_json:
        click.echo(json.dumps(counts))
        return
    click.echo(" ".join(f"{key}={value}" for key, value in counts.items()
                        if key != "lifecycle"))
    if lifecycle is not None:
        click.echo("lifecycle: " + " ".join(f"{key}={value}"
                                             for key, value in stages.as_json().items()))


@score_group.command("explain")
@click.argument("record", metavar="EMAIL|HUB_ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_app
def explain_command(app: App, record: str, as_json: bool) -> None:
    """Every rule that gave this person points (when, decay, caps), its stages and AQL parts."""
    rules, schema, now = _rules(app), app.schema, utcnow()
    lifecycle, lifecycle_problems = lifecycle_rules(app.mappings_dir)
    with Session(app.engine) as session:
        people = [r for kind, r in find_records(session, record, "score explain")
                  if kind == "person"]
        if not people:
            raise InputError("score explain", f"{record!r} is not a person")
        person = people[0]
        assert isinstance(person, Person)
        explanation = explain_person(session, person, schema, rules, lifecycle, now)
    explanation.problems.extend(lifecycle_problems)
    if as_json:
        click.echo(json.dumps(explanation.as_json(), default=str))
        return
    for line in explanation.text_lines():
        click.echo(line)
    for problem in explanation.problems:
        click.echo(f"note: {problem}", err=True)


def register(group: click.Group) -> None:
    """Add this command group to the main group."""
    group.add_command(score_group)
