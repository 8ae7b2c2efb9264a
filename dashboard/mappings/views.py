"""Mapping pages: the list, one mapping with its preview, the editor, and the history."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from core.models import MappingRevision
from core.yamlsource import line_of, load_yaml
from dashboard import workspace
from dashboard.auth import admin_required, current_user
from dashboard.blueprint import bp, db
from dashboard.mappings import catalog, history, preview, resync, schema
from dashboard.mappings.catalog import MappingFile
from dashboard.mappings.editor import EditError, apply_edit, unified_diff
from dashboard.mappings.form import RULES, EditForm, from_data, from_post, to_edit
from dashboard.mappings.syntax import transform_text
from dashboard.mappings.validate import Finding, Verdict, validate_text
from jobs.backfill.scope import moving_rows
from mappings.rules import FieldRule

CHANGED_ON_DISK = (
    "Not saved: {file} changed on disk since this editor was opened (someone else saved it, "
    "or it was edited by hand). Reload the editor to start from the current file; your "
    "changes are still in the form below to copy."
)


def _entry(name: str) -> MappingFile:
    entry = catalog.find(name)
    if entry is None:
        abort(404)
    return entry


def _actor() -> str:
    user = current_user()
    return user.email if user is not None else "unknown"


# -- list and view -------------------------------------------------------------------------------


@bp.route("/mappings")
def mappings() -> str:
    """Every mapping file with its settings, and the problems of those that do not load."""
    entries = catalog.files()
    files = {e.file for e in entries}
    # Problems no file owns: hub.yaml, the connections file.
    general = [str(p) for p in workspace.current().problems
               if not any(str(p).startswith(f + ":") for f in files)]
    return render_template("dashboard/mappings/list.html", entries=entries, general=general,
                           folder=workspace.mappings_dir())


@bp.route("/mappings/<name>")
def mapping(name: str) -> str:
    """One mapping: settings, rules, field rows, the raw YAML, and a preview both ways."""
    entry = _entry(name)
    context: dict[str, Any] = {"entry": entry, "m": entry.mapping,
                               "transform_text": transform_text}
    if entry.mapping is not None:
        context.update(_preview(entry))
        context["resyncs"] = resync.recent(db(), entry.name)
        context["resync_rows"] = moving_rows(entry.mapping)
    return render_template("dashboard/mappings/view.html", **context)


def _preview(entry: MappingFile) -> dict[str, Any]:
    """The preview forms' values and results (a GET: previews change nothing)."""
    m = entry.mapping
    assert m is not None
    hub_schema = catalog.hub_schema()
    args = request.args
    inputs = preview.hub_inputs(m)
    record_key = args.get("record", "")
    texts = {name: args.get(f"hub-{name}", "") for name in inputs}
    notes: list[str] = []
    push_result = pull_result = None
    if args.get("load") and record_key:
        found = preview.find_hub_record(db(), m, hub_schema, record_key)
        if found is None:
            notes.append(f"no {m.hub_object} with id or email {record_key!r}")
        else:
            texts = {name: "" if found.get(name) is None else str(found.get(name))
                     for name in inputs}
    if args.get("direction") == "push" or (args.get("load") and record_key and not notes):
        values, problems = preview.hub_values(m, hub_schema, texts)
        push_result = preview.push(m, values)
        push_result.problems = problems
    remote_text = args.get("remote", "")
    if args.get("direction") == "pull":
        sample, problem = preview.parse_remote_sample(remote_text)
        if sample is None:
            notes.append(problem or "")
        else:
            pull_result = preview.pull(m, hub_schema, sample)
    if not remote_text:
        sample_out = push_result.outgoing if push_result else {
            row.remote: "" for row in m.fields if row.pulls(m.direction)}
        remote_text = json.dumps(sample_out, indent=2, ensure_ascii=False, default=str)
    return {
        "inputs": inputs,
        "texts": texts,
        "record_key": record_key,
        "push": push_result,
        "pull": pull_result,
        "remote_text": remote_text,
        "preview_notes": notes,
    }


@bp.route("/mappings/<name>/history")
def mapping_history(name: str) -> str:
    """Saved revisions of a mapping file, newest first, each restorable by an admin."""
    entry = _entry(name)
    return render_template("dashboard/mappings/history.html", entry=entry,
                           revisions=history.revisions(db(), entry.name))


@bp.route("/mappings/<name>/history/<int:revision_id>/restore", methods=["POST"])
@admin_required
def mapping_restore(name: str, revision_id: int) -> Response | tuple[str, int]:
    """Write a revision's text back (validated first) as a new ``restore`` revision."""
    entry = _entry(name)
    revision = db().get(MappingRevision, revision_id)
    if revision is None or revision.mapping != entry.name:
        abort(404)
    if revision.text == entry.text:
        flash(f"{entry.file} already has the text of that revision: nothing to restore.", "info")
        return redirect(url_for("dashboard.mapping_history", name=entry.name))
    verdict = _validate(entry, revision.text, describe=False)
    if verdict.errors:
        return render_template("dashboard/mappings/history.html", entry=entry,
                               revisions=history.revisions(db(), entry.name),
                               refused=verdict, refused_id=revision_id), 422
    try:
        history.save(db(), name=entry.name, path=entry.path, file=entry.file,
                     new_text=revision.text, base_digest=entry.digest, actor=_actor(),
                     action="restore", detail={"restored": revision_id})
    except history.ChangedOnDisk:
        flash(CHANGED_ON_DISK.format(file=entry.file), "error")
        return redirect(url_for("dashboard.mapping_history", name=entry.name))
    flash(f"Restored {entry.file} to the revision of {revision.at:%Y-%m-%d %H:%M:%S} UTC.",
          "success")
    return redirect(url_for("dashboard.mapping_history", name=entry.name))


# -- the editor ----------------------------------------------------------------------------------


def _scope() -> str:
    return str(workspace.connections_path())


def _remote(entry: MappingFile, refresh: bool = False) -> schema.RemoteSchema:
    connection = str(entry.setting("connection") or "")
    remote_object = str(entry.setting("remote_object") or "")
    if refresh:
        schema.forget(_scope(), connection, remote_object)
    return schema.describe(workspace.current(), _scope(), connection, remote_object)


def _validate(entry: MappingFile, text: str, describe: bool = True,
              remote: schema.RemoteSchema | None = None) -> Verdict:
    ws = workspace.current()
    if describe and remote is None:
        remote = _remote(entry)
    objects = remote.objects if remote is not None and remote.available else None
    others = {e.name: e.path for e in catalog.files() if e.mapping is not None}
    return validate_text(text, entry.path, hub_schema=ws.hub_schema,
                         connections=catalog.connection_names(ws), objects=objects,
                         others=others)


@bp.route("/mappings/<name>/edit", methods=["GET", "POST"])
@admin_required
def mapping_edit(name: str) -> Response | str | tuple[str, int]:
    """Edit field rows and rules; Validate shows problems, Save writes after validating."""
    entry = _entry(name)
    if entry.data is None:
        return _render_edit(entry, None, None, status=409,
                            message="This file is not valid YAML, so it cannot be edited here: "
                                    "fix it by hand, or restore a revision from its history.")
    action = request.form.get("action", "") if request.method == "POST" else ""
    remote = _remote(entry, refresh=action == "refresh_schema")
    if request.method == "GET":
        return _render_edit(entry, from_data(entry.data, entry.digest), remote)
    form = from_post(request.form, entry.data)
    if action == "add_row":
        form.add_blank_row()
        return _render_edit(entry, form, remote)
    if action not in ("validate", "save"):
        return _render_edit(entry, form, remote)
    if form.base_digest != entry.digest:
        return _render_edit(entry, form, remote, status=409,
                            message=CHANGED_ON_DISK.format(file=entry.file))
    edit, syntax = to_edit(form, entry.data)
    if syntax:
        findings = [_syntax_finding(entry, form, path, message) for path, message in syntax]
        saving = action == "save"
        return _render_edit(entry, form, remote, findings=findings, status=422 if saving else 200,
                            message=f"{'Not saved: ' if saving else ''}{len(findings)} problem(s) "
                                    "in the form.")
    try:
        new_text = apply_edit(entry.text, edit)
    except EditError as exc:
        return _render_edit(entry, form, remote, status=422, message=f"Not saved: {exc}")
    if edit.empty or new_text == entry.text:
        if action == "save":
            flash("Nothing changed: the form matches the file, which was left as it is.", "info")
            return redirect(url_for("dashboard.mapping", name=entry.name))
        return _render_edit(entry, form, remote, message="No changes to validate: the form "
                            "matches the file.", verdict=_validate(entry, new_text, remote=remote))
    verdict = _validate(entry, new_text, remote=remote)
    diff = unified_diff(entry.text, new_text, entry.path.name)
    if action == "validate" or verdict.errors:
        status = 422 if verdict.errors and action == "save" else 200
        message = (f"Not saved: {len(verdict.errors)} error(s) must be fixed first."
                   if action == "save" else None)
        return _render_edit(entry, form, remote, verdict=verdict, diff=diff, status=status,
                            message=message)
    try:
        history.save(db(), name=entry.name, path=entry.path, file=entry.file, new_text=new_text,
                     base_digest=form.base_digest, actor=_actor(), action="edit",
                     detail={"warnings": len(verdict.warnings)})
    except history.ChangedOnDisk:
        return _render_edit(entry, form, remote, status=409,
                            message=CHANGED_ON_DISK.format(file=entry.file))
    saved = f"Saved {entry.file}; the next sync of {entry.name} uses it."
    if verdict.warnings:
        saved += f" {len(verdict.warnings)} warning(s) were shown and did not block the save:"
        for finding in verdict.warnings:
            saved += f" {finding};"
    flash(saved.rstrip(";"), "success")
    return redirect(url_for("dashboard.mapping", name=entry.name))


def _syntax_finding(entry: MappingFile, form: EditForm, path: str, message: str) -> Finding:
    """A form problem named like the loader's: ``file:line fields.lead_source.value_map``."""
    parts = path.split(".")
    row = next((r for r in form.rows if parts[1] in (r.hub, r.remote, str(r.position))), None)
    key_path: tuple[str | int, ...] = ("fields",)
    if row is not None and row.index is not None:
        key_path = ("fields", row.index, parts[-1])
    try:
        _, lines = load_yaml(entry.text, entry.file)
    except Exception:  # noqa: BLE001 - only for a line number
        lines = {}
    line = line_of(lines, key_path)
    return Finding("error", f"{entry.file}:{line} {path}" if line else f"{entry.file} {path}",
                   message)


def _render_edit(entry: MappingFile, form: EditForm | None, remote: schema.RemoteSchema | None,
                 *, findings: list[Finding] | None = None, verdict: Verdict | None = None,
                 diff: str | None = None, message: str | None = None, status: int = 200
                 ) -> tuple[str, int]:
    hub_object = str(entry.setting("hub_object") or "")
    hub_fields = sorted(catalog.hub_schema().objects.get(hub_object, {}))
    if verdict is not None:
        findings = (findings or []) + verdict.findings
    html = render_template(
        "dashboard/mappings/edit.html",
        entry=entry,
        form=form,
        anchors=form.anchors() if form else {},
        hub_fields=hub_fields,
        remote=remote,
        rules=RULES,
        default_rule=FieldRule.TWO_WAY.value,
        errors=[f for f in findings or [] if f.level == "error"],
        warnings=[f for f in findings or [] if f.level == "warning"],
        verdict=verdict,
        diff=diff,
        message=message,
    )
    return html, status
