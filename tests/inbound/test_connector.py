"""The webhook connector reads the inbox as form submissions a mapping turns into people."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.base import OutboundRecord, WriteStatus
from connectors.config import Connections
from connectors.errors import ConnectorError, ErrorKind
from connectors.webhook import WebhookConnector
from core.errors import InputErrors
from core.hubschema import HubSchema
from core.models import SyncError
from core.redaction import redact
from jobs.engine import run_mapping
from mappings.check import check_against_remote
from mappings.loader import load_mappings
from tests.inbound.forms import (
    FORMS_MAPPING,
    OTHER_SECRET,
    SECRET,
    SOURCE,
    context,
    people,
    source_settings,
    submit,
)


def connector(engine: Engine, **settings: object) -> WebhookConnector:
    return WebhookConnector(SOURCE, {**source_settings(**settings), "engine": engine})


def test_submissions_read_in_pages_flattened_with_an_inclusive_cursor(engine: Engine) -> None:
    first = submit(engine, {"email": "ann@acme.com", "utm": {"source": "google", "x": {"y": 1}}})
    form = submit(engine, b"email=bo%40acme.com&interest=a&interest=b&first_name=Bo",
                  content_type="application/x-www-form-urlencoded")
    third = submit(engine, {"email": "cy@acme.com"}, event_id="msg_3")
    source = connector(engine, page_size=2)

    pages = list(source.read_changes("submission", None))

    assert [[c.key for c in p.changes] for p in pages] == [[str(first), str(form)], [str(third)]]
    assert pages[0].cursor is not None and pages[-1].cursor is not None
    assert pages[0].cursor < pages[-1].cursor and int(pages[-1].cursor) == third
    ann = pages[0].changes[0].fields
    assert (ann["utm.source"], ann["utm.x.y"], ann["_source"]) == ("google", 1, SOURCE)
    assert ann["_event_id"].startswith("sha256:") and ann["_received_at"].endswith("+00:00")
    bo = pages[0].changes[1].fields
    assert (bo["email"], bo["interest"], bo["first_name"]) == ("bo@acme.com", ["a", "b"], "Bo")
    again = list(source.read_changes("submission", pages[0].cursor))
    assert [c.key for p in again for c in p.changes] == [str(form), str(third)]
    assert [c.key for c in source.lookup("submission", "_event_id", ["msg_3"])] == [str(third)]
    assert [c.key for c in source.lookup("submission", "key", [str(first)])] == [str(first)]


def test_a_body_that_does_not_parse_is_a_record_with_its_error(engine: Engine) -> None:
    submit(engine, b"{not json", content_type="application/json")

    [change] = [c for p in connector(engine).read_changes("submission", None) for c in p.changes]

    assert "neither a JSON object nor a form" in change.fields["_error"]
    assert change.fields["_raw"] == "{not json"


def test_a_forms_mapping_checks_clean_and_nothing_can_be_written(
    engine: Engine, tmp_path: Path
) -> None:
    mapping_data = {**FORMS_MAPPING, "fields": [
        {"hub": "email", "remote": "email"}, {"hub": "first_name", "remote": "first_name"},
        {"hub": "lead_source", "remote": "utm.source"}, {"hub": "state", "remote": "page_url"},
        {"hub": "title", "remote": "campaign"}, {"hub": "company", "remote": "form_id"},
        {"hub": "last_name", "remote": "submitted_at"}, {"hub": "city", "remote": "favourite"},
    ]}
    submit(engine, {"email": "ann@acme.com", "favourite": "blue"})
    (tmp_path / "forms.yaml").write_text(yaml.safe_dump(mapping_data))
    [mapping] = load_mappings(tmp_path, hub_schema=HubSchema.standard()).values()
    objects = connector(engine).describe(["submission"])

    assert check_against_remote(mapping, objects, HubSchema.standard()) == []
    [result] = connector(engine).write("submission", [OutboundRecord("r1", None, {"a": 1})])
    assert result.status is WriteStatus.FAILED and result.error is not None
    assert result.error.kind is ErrorKind.CONFIG
    with pytest.raises(ConnectorError, match="one object, 'submission'"):
        connector(engine).describe(["Lead"])


def test_settings_are_checked_and_every_secret_is_redacted() -> None:
    with pytest.raises(InputErrors) as caught:
        Connections.from_dict({SOURCE: {"type": "webhook", "scheme": "standard"}}).check(SOURCE)
    assert "needs 'secret'" in str(caught.value)
    with pytest.raises(InputErrors, match="header"):
        Connections.from_dict(
            {SOURCE: {**source_settings(), "header": "X-Sig"}}).check(SOURCE)
    with pytest.raises(InputErrors, match="whsec_"):
        Connections.from_dict(
            {SOURCE: {"type": "webhook", "scheme": "standard", "secret": "plain"}}).check(SOURCE)
    rotating = {"type": "webhook", "scheme": "standard", "secrets": [SECRET, OTHER_SECRET]}
    Connections.from_dict({SOURCE: rotating}).check(SOURCE)
    assert SECRET not in redact(f"a {SECRET} b {OTHER_SECRET}")
    assert OTHER_SECRET not in redact(f"a {SECRET} b {OTHER_SECRET}")


def test_a_cycle_makes_people_and_a_bad_submission_an_error(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine, tmp_path)
    submit(engine, {"email": " Ann@Acme.com ", "first_name": "Ann", "last_name": "Lee"})
    # A first name longer than the hub holds (80), and the mapping fails such records whole.
    bad = submit(engine, {"email": "bo@acme.com", "first_name": "B" * 81})

    report = run_mapping(ctx, "website-forms-person")

    assert report.status in ("success", "partial"), report.message
    assert people(engine) == {"ann@acme.com": ("Ann", "Lee")}
    with Session(engine) as session:
        errors = session.exec(select(SyncError)).all()
    assert [(e.remote_id, e.status) for e in errors] == [(str(bad), "open")]
