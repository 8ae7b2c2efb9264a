"""Mappings pages: list, view, preview both ways, the editor (validate, save), history, restore."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.models import Audit, MappingRevision, Person
from mappings.loader import mapping_paths
from tests.dashboard.conftest import unwrapped
from tests.dashboard.forms import post

REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = [p.stem for p in mapping_paths(REPO_MAPPINGS)]


@pytest.fixture
def folder(app: Flask, tmp_path: Path) -> Path:
    """A copy of the shipped mapping files the app edits; no connections file."""
    directory = tmp_path / "mappings"
    shutil.copytree(REPO_MAPPINGS, directory, ignore=shutil.ignore_patterns("*.py", "__*"))
    app.config["MAPPINGS_DIR"] = str(directory)
    app.config["CONNECTIONS"] = str(tmp_path / "no-connections.yaml")
    return directory


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def form_fields(html: str) -> dict[str, str]:
    """The values the editor form would submit as it stands (inputs, selects, textareas)."""
    form = html[html.index('id="mapping-editor"'):]
    form = form[: form.index("</form>")]
    out: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) == "checkbox" and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        out[name.group(1)] = unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[name] = unescape(chosen.group(1)) if chosen else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        out[name] = unescape(body)
    return out


def visible(html: str) -> str:
    """The page's text as a person reads it: tags dropped, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def row_of(fields: dict[str, str], hub: str) -> int:
    """The form position of the row for hub field ``hub``."""
    return next(int(k.split("-")[1]) for k, v in fields.items()
                if k.endswith("-hub") and v == hub)


# -- list and view -------------------------------------------------------------------------------


def test_list_shows_every_mapping_file(client: FlaskClient, folder: Path) -> None:
    html = get(client, "/mappings")
    for name in SHIPPED:
        assert f'href="/mappings/{name}"' in html
    row = html[html.index('id="mapping-salesforce-lead"'):]
    row = row[: row.index("</tr>")]
    assert "People as Salesforce Leads" in row
    assert "person ⇄ Lead" in row and "salesforce" in row and "30s" in row
    assert '<td class="num">13</td>' in row
    assert "loads" in row


def test_a_broken_file_is_listed_with_its_error(client: FlaskClient, folder: Path) -> None:
    path = folder / "salesforce-contact.yaml"
    path.write_text(path.read_text().replace("hub: title,", "hub: titel,"))
    (folder / "scratch.yaml").write_text("name: [unclosed\n")
    html = get(client, "/mappings")
    row = html[html.index('id="mapping-salesforce-contact"'):]
    row = row[: row.index("</tr>")]
    assert "1 problem(s)" in row
    assert "salesforce-contact.yaml:19 fields.titel.hub: &#39;titel&#39; is not a field" in row
    assert 'id="mapping-scratch"' in html and "not valid YAML" in html
    # The others still load and show.
    lead = html[html.index('id="mapping-salesforce-lead"'):]
    assert "loads" in lead[: lead.index("</tr>")]
    page = get(client, "/mappings/salesforce-contact")
    assert "This file does not load" in page and "titel" in page
    assert 'id="raw-yaml"' in page


def test_view_shows_settings_rows_and_raw_yaml(client: FlaskClient, folder: Path) -> None:
    html = get(client, "/mappings/salesforce-lead")
    assert "email and not unsubscribed and (aql or lifecycle_stage in" in html
    assert "LeadSource != &#39;Partner Referral&#39;" in html
    assert "match on email; external id Syncline_Id__c" in html
    rows = html[html.index('id="field-rows"'):html.index("</table>", html.index('id="field-rows"'))]
    assert "strip, lower, truncate: 80" in rows
    assert "Organic Search → Web" in rows and "prefer_hub_unless_blank" in rows
    assert "[not provided]" in rows
    assert "# Lead Source is a restricted picklist" in html  # the raw file, comments and all
    assert 'id="edit-mapping"' in html and 'href="/mappings/salesforce-lead/history"' in html


def test_unknown_mapping_is_404(client: FlaskClient, folder: Path) -> None:
    get(client, "/mappings/nope", status=404)
    get(client, "/mappings/nope/edit", status=404)
    get(client, "/mappings/nope/history", status=404)


# -- preview -------------------------------------------------------------------------------------


def test_preview_hub_to_remote_from_a_hub_record(
    client: FlaskClient, folder: Path, engine: Engine
) -> None:
    with Session(engine) as db:
        db.add(Person(email="ann@example.com", first_name="  Ann ", last_name=None,
                      lead_source="Event", score=55, country="de", lifecycle_stage="MQL"))
        db.commit()
        count = len(db.exec(select(Person)).all())
    html = get(client, "/mappings/salesforce-lead?direction=push&record=ANN@example.com&load=1")
    rows = unwrapped(html[html.index('id="push-rows"'):])
    rows = rows[: rows.index("</table>")]
    assert "<td>first_name</td><td><code>&#34;  Ann &#34;</code></td><td>FirstName</td>" in rows
    assert "<code>&#34;Ann&#34;</code>" in rows  # stripped
    assert "<code>&#34;[not provided]&#34;</code>" in rows  # the default for a blank last name
    assert "<code>&#34;Trade Show&#34;</code>" in rows  # value_map Event → Trade Show
    assert "<code>&#34;Germany&#34;</code>" in rows  # country_name
    assert "goes out" in html and "the sync rule lets this record go out" in html
    # The loaded values fill the form, so the admin can change one and preview again.
    assert 'name="hub-score" value="55"' in html
    low = get(client, "/mappings/salesforce-lead?direction=push&hub-email=bob@example.com"
                      "&hub-score=10&hub-lifecycle_stage=Lead&hub-unsubscribed=false")
    assert "stays in the hub" in low and "keeps this record from going out" in low
    with Session(engine) as db:
        assert len(db.exec(select(Person)).all()) == count  # nothing written


def test_preview_unknown_record_and_bad_values(client: FlaskClient, folder: Path) -> None:
    html = get(client, "/mappings/salesforce-lead?direction=push&record=nobody@x.org&load=1")
    assert "no person with id or email &#39;nobody@x.org&#39;" in html
    html = get(client, "/mappings/salesforce-lead?direction=push&hub-score=lots")
    assert "score: &#39;lots&#39; is not a whole number" in html


def test_preview_remote_to_hub(client: FlaskClient, folder: Path) -> None:
    sample = ('{"Email": "Ann@Example.com", "LeadSource": "Trade Show", "Country": "DE", '
              '"LastName": "[not provided]", "Score__c": 80}')
    html = get(client, "/mappings/salesforce-lead", ) and client.get(
        "/mappings/salesforce-lead", query_string={"direction": "pull", "remote": sample}
    ).get_data(as_text=True)
    rows = unwrapped(html[html.index('id="pull-rows"'):])
    rows = rows[: rows.index("</table>")]
    assert "<td>Email</td><td><code>&#34;Ann@Example.com&#34;</code></td><td>email</td>" in rows
    assert "<code>&#34;ann@example.com&#34;</code>" in rows
    assert "<code>&#34;Event&#34;</code>" in rows  # value_map read backwards
    assert "<code>&#34;Germany&#34;</code>" in rows
    assert "not written to the hub (rule to_remote)" in rows  # Score__c
    assert "comes in" in html and "the pull rule lets this record in" in html
    out = client.get("/mappings/salesforce-lead", query_string={
        "direction": "pull", "remote": '{"LeadSource": "Partner Referral"}'}).get_data(as_text=True)
    assert "left out" in out
    bad = client.get("/mappings/salesforce-lead", query_string={
        "direction": "pull", "remote": "[1, 2"}).get_data(as_text=True)
    assert "the remote record is not valid JSON" in bad


# -- the editor ----------------------------------------------------------------------------------


def open_editor(client: FlaskClient, name: str) -> dict[str, str]:
    return form_fields(get(client, f"/mappings/{name}/edit"))


def submit(client: FlaskClient, name: str, fields: dict[str, str], action: str,
           status: int | None = None) -> str:
    response = post(client, f"/mappings/{name}/edit", {**fields, "action": action})
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return response.get_data(as_text=True)


@pytest.mark.parametrize("name", SHIPPED)
def test_saving_an_untouched_form_leaves_every_shipped_file_byte_identical(
    client: FlaskClient, folder: Path, engine: Engine, name: str
) -> None:
    path = folder / f"{name}.yaml"
    before = path.read_bytes()
    fields = open_editor(client, name)
    assert fields["row_count"] != "0"
    response = post(client, f"/mappings/{name}/edit", {**fields, "action": "save"})
    assert response.status_code == 302
    assert path.read_bytes() == before
    assert "Nothing changed" in get(client, f"/mappings/{name}")
    with Session(engine) as db:
        assert db.exec(select(MappingRevision)).all() == []


def test_adding_a_value_map_entry_changes_one_line(
    client: FlaskClient, folder: Path, engine: Engine, admin: object
) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_text()
    html = get(client, "/mappings/salesforce-lead/edit")
    assert 'id="row-lead_source"' in html
    assert ">Validate</button>" in html and ">Save</button>" in html
    fields = form_fields(html)
    n = row_of(fields, "lead_source")
    assert fields[f"rows-{n}-value_map"].splitlines()[0] == "Organic Search = Web"
    fields[f"rows-{n}-value_map"] += "\r\nPodcast = Other"
    response = post(client, "/mappings/salesforce-lead/edit", {**fields, "action": "save"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    after = path.read_text()
    assert after == before.replace(
        "      List Import: Purchased List\n",
        "      List Import: Purchased List\n      Podcast: Other\n",
    )
    page = get(client, "/mappings/salesforce-lead")
    assert "Saved" in page and "Podcast → Other" in page
    with Session(engine) as db:
        revisions = db.exec(select(MappingRevision).order_by(MappingRevision.id)).all()
        assert [r.action for r in revisions] == ["import", "edit"]
        assert revisions[0].text == before and revisions[1].text == after
        assert revisions[1].actor == "admin@example.com"
        assert "+      Podcast: Other" in revisions[1].diff
        audit = db.exec(select(Audit).where(Audit.action == "mapping.edit")).one()
        assert audit.actor == "admin@example.com" and audit.target == "salesforce-lead"
        assert audit.detail["lines_added"] == 1 and audit.detail["lines_removed"] == 0


def test_edits_keep_comments_and_every_other_line(client: FlaskClient, folder: Path) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_text()
    fields = open_editor(client, "salesforce-lead")
    email = row_of(fields, "email")
    title = row_of(fields, "title")
    fields[f"rows-{email}-transform"] = "strip, lower, truncate: 60"
    fields[f"rows-{title}-default"] = "Unknown"
    fields[f"rows-{title}-rule"] = "to_remote"
    fields["sync_rule"] = "email and score >= 50"
    submit(client, "salesforce-lead", fields, "save", status=302)
    after = path.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
               if a != b]
    assert changed == [
        ('sync_rule: "email and not unsubscribed and (aql or lifecycle_stage in '
         "['MQL', 'SAL', 'SQL'])\"", 'sync_rule: "email and score >= 50"'),
        ("  - {hub: email, remote: Email, transform: [strip, lower, {truncate: 80}]}",
         "  - {hub: email, remote: Email, transform: [strip, lower, {truncate: 60}]}"),
        ("  - {hub: title, remote: Title}",
         "  - {hub: title, remote: Title, rule: to_remote, default: Unknown}"),
    ]


def test_add_a_row_and_remove_one(client: FlaskClient, folder: Path) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_text()
    fields = open_editor(client, "salesforce-lead")
    html = submit(client, "salesforce-lead", fields, "add_row", status=200)
    assert path.read_text() == before  # adding a blank row writes nothing
    fields = form_fields(html)
    new = int(fields["row_count"]) - 1
    assert fields[f"rows-{new}-index"] == "" and fields[f"rows-{new}-remote"] == ""
    fields[f"rows-{new}-hub"] = "industry_segment"
    fields[f"rows-{new}-remote"] = "Industry"
    fields[f"rows-{new}-rule"] = "to_remote"
    fields[f"rows-{new}-value_map"] = "SMB = Small\nEnterprise = Large"
    fields[f"rows-{row_of(fields, 'state')}-remove"] = "1"
    submit(client, "salesforce-lead", fields, "save", status=302)
    after = path.read_text()
    assert "  - {hub: state, remote: State}\n" not in after
    assert after.endswith(
        "  - {hub: score, remote: Score__c, rule: to_remote}\n"
        "  - {hub: industry_segment, remote: Industry, rule: to_remote, "
        "value_map: {SMB: Small, Enterprise: Large}}\n"
    )
    assert after.replace(
        "  - {hub: industry_segment, remote: Industry, rule: to_remote, "
        "value_map: {SMB: Small, Enterprise: Large}}\n", ""
    ) == before.replace("  - {hub: state, remote: State}\n", "")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.update({f"rows-{row_of(f, 'title')}-hub": "titel"}),
         "salesforce-lead.yaml:23 fields.titel.hub: 'titel' is not a field of hub object"),
        (lambda f: f.update({f"rows-{row_of(f, 'email')}-transform": "strip, lowr"}),
         "salesforce-lead.yaml:18 fields.email.transform[1]: unknown transform 'lowr'"),
        (lambda f: f.update({"sync_rule": "score >= "}),
         "salesforce-lead.yaml:12 sync_rule: syntax error"),
        (lambda f: f.update({f"rows-{row_of(f, 'city')}-transform": "truncate: many"}),
         "salesforce-lead.yaml:25 fields.city.transform[0]: truncate: needs a length"),
        (lambda f: f.update({f"rows-{row_of(f, 'lead_source')}-value_map": "Podcast Other"}),
         "salesforce-lead.yaml:34 fields.lead_source.value_map: line 1 (Podcast Other) "
         "has no '='"),
    ],
)
def test_invalid_edits_show_file_line_messages_and_save_nothing(
    client: FlaskClient, folder: Path, engine: Engine,
    change: Callable[[dict[str, str]], None], expected: str,
) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_bytes()
    fields = open_editor(client, "salesforce-lead")
    change(fields)
    html = submit(client, "salesforce-lead", fields, "save", status=422)
    assert "Not saved" in html
    assert expected in visible(html)
    assert path.read_bytes() == before
    assert "tmp" not in html.split('id="validation-errors"')[-1].split("</section>")[0].replace(
        str(folder), "")  # the real file is named, never the validator's copy
    with Session(engine) as db:
        assert db.exec(select(MappingRevision)).all() == []
        assert db.exec(select(Audit)).all() == []
    # Validate shows the same and never saves either.
    html = submit(client, "salesforce-lead", fields, "validate", status=200)
    assert expected in visible(html) and path.read_bytes() == before


def test_validate_shows_the_pending_diff_and_saves_nothing(
    client: FlaskClient, folder: Path
) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_bytes()
    fields = open_editor(client, "salesforce-lead")
    fields[f"rows-{row_of(fields, 'lead_source')}-value_map"] += "\nPodcast = Other"
    html = submit(client, "salesforce-lead", fields, "validate", status=200)
    assert 'id="validation-ok"' in html and "schema not available" in html
    assert "+      Podcast: Other" in html
    assert path.read_bytes() == before


def test_a_file_changed_since_the_form_was_opened_is_not_overwritten(
    client: FlaskClient, folder: Path
) -> None:
    path = folder / "salesforce-lead.yaml"
    fields = open_editor(client, "salesforce-lead")
    someone_else = path.read_text().replace("schedule: 30s", "schedule: 1m")
    path.write_text(someone_else)
    fields[f"rows-{row_of(fields, 'lead_source')}-value_map"] += "\nPodcast = Other"
    html = submit(client, "salesforce-lead", fields, "save", status=409)
    assert "changed on disk since this editor was opened" in html
    assert path.read_text() == someone_else


# -- history -------------------------------------------------------------------------------------


def test_history_lists_revisions_and_restore_brings_back_the_old_text(
    client: FlaskClient, folder: Path, engine: Engine
) -> None:
    path = folder / "salesforce-lead.yaml"
    original = path.read_text()
    assert "No saved revisions yet" in get(client, "/mappings/salesforce-lead/history")
    fields = open_editor(client, "salesforce-lead")
    fields[f"rows-{row_of(fields, 'lead_source')}-value_map"] += "\nPodcast = Other"
    submit(client, "salesforce-lead", fields, "save", status=302)
    fields = open_editor(client, "salesforce-lead")
    fields[f"rows-{row_of(fields, 'title')}-default"] = "<b>Boss</b>"
    submit(client, "salesforce-lead", fields, "save", status=302)

    html = get(client, "/mappings/salesforce-lead/history")
    with Session(engine) as db:
        revisions = db.exec(select(MappingRevision).order_by(MappingRevision.id)).all()
    assert [r.action for r in revisions] == ["import", "edit", "edit"]
    ids = [int(i) for i in re.findall(r'id="revision-(\d+)"', html)]
    assert ids == [r.id for r in reversed(revisions)]  # newest first
    assert "&lt;b&gt;Boss&lt;/b&gt;" in html and "<b>Boss</b>" not in html  # escaped diff
    assert html.count(">Restore</button>") == 2  # not on the current one

    response = post(client, f"/mappings/salesforce-lead/history/{revisions[0].id}/restore")
    assert response.status_code == 302
    assert path.read_text() == original
    html = get(client, "/mappings/salesforce-lead/history")
    assert "Restored" in html
    with Session(engine) as db:
        last = db.exec(select(MappingRevision).order_by(MappingRevision.id.desc())).first()
        assert last is not None and last.action == "restore" and last.text == original
        audit = db.exec(select(Audit).where(Audit.action == "mapping.restore")).one()
        assert audit.actor == "admin@example.com"
        assert audit.detail["restored"] == revisions[0].id


def test_a_revision_that_no_longer_validates_is_not_restored(
    client: FlaskClient, folder: Path, engine: Engine
) -> None:
    path = folder / "salesforce-lead.yaml"
    broken = path.read_text().replace("hub: title,", "hub: titel,")
    with Session(engine) as db:
        db.add(MappingRevision(mapping="salesforce-lead", file="salesforce-lead.yaml",
                               at=datetime(2026, 1, 1, tzinfo=UTC), actor="x", text=broken))
        db.commit()
        revision_id = db.exec(select(MappingRevision)).one().id
    before = path.read_bytes()
    response = post(client, f"/mappings/salesforce-lead/history/{revision_id}/restore")
    assert response.status_code == 422
    assert "Not restored" in response.get_data(as_text=True)
    assert "&#39;titel&#39; is not a field" in response.get_data(as_text=True)
    assert path.read_bytes() == before


# -- who may do what -----------------------------------------------------------------------------


def test_viewers_read_but_cannot_edit(
    client: FlaskClient, viewer_client: FlaskClient, folder: Path, engine: Engine
) -> None:
    fields = open_editor(client, "salesforce-lead")  # an admin's form, posted by a viewer
    fields.pop("csrf_token")  # the viewer's own token is used
    html = get(viewer_client, "/mappings/salesforce-lead")
    assert 'id="edit-mapping"' not in html and "Preview" in html
    get(viewer_client, "/mappings")
    get(viewer_client, "/mappings/salesforce-lead/history")
    get(viewer_client, "/mappings/salesforce-lead/edit", status=403)
    before = (folder / "salesforce-lead.yaml").read_bytes()
    assert post(viewer_client, "/mappings/salesforce-lead/edit",
                {**fields, "action": "save"}).status_code == 403
    with Session(engine) as db:
        db.add(MappingRevision(mapping="salesforce-lead", file="f", at=datetime.now(UTC),
                               actor="x", text="name: x\n"))
        db.commit()
        revision_id = db.exec(select(MappingRevision)).one().id
    assert ">Restore</button>" not in get(viewer_client, "/mappings/salesforce-lead/history")
    assert post(viewer_client, f"/mappings/salesforce-lead/history/{revision_id}/restore"
                ).status_code == 403
    assert (folder / "salesforce-lead.yaml").read_bytes() == before


def test_posts_without_a_csrf_token_are_refused(client: FlaskClient, folder: Path) -> None:
    fields = open_editor(client, "salesforce-lead")
    fields.pop("csrf_token")
    before = (folder / "salesforce-lead.yaml").read_bytes()
    fields[f"rows-{row_of(fields, 'lead_source')}-value_map"] += "\nPodcast = Other"
    assert client.post("/mappings/salesforce-lead/edit",
                       data={**fields, "action": "save"}).status_code == 400
    assert client.post("/mappings/salesforce-lead/history/1/restore").status_code == 400
    assert (folder / "salesforce-lead.yaml").read_bytes() == before
