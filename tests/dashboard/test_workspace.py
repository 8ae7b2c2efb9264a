"""The files behind the dashboard: one broken mapping never hides the ones that load."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from dashboard import workspace
from tests.dashboard.workspace_files import mapping_yaml, use_files


def test_a_mapping_on_an_unknown_connection_leaves_the_others_loaded(
    app: Flask, tmp_path: Path
) -> None:
    use_files(
        app,
        tmp_path,
        {"crm": {"type": "memory"}},
        [mapping_yaml("good-one", "crm"), mapping_yaml("lost-one", "nowhere")],
    )
    with app.app_context():
        files = workspace.current()
    assert list(files.mappings) == ["good-one"]
    assert any("nowhere" in str(problem) for problem in files.problems)


def test_an_edited_file_is_read_again(app: Flask, tmp_path: Path) -> None:
    use_files(app, tmp_path, {"crm": {"type": "memory"}}, [mapping_yaml("first", "crm")])
    with app.app_context():
        before = workspace.current()
        assert workspace.current() is before, "unchanged files are not re-read"
        path = Path(app.config["MAPPINGS_DIR"]) / "first.yaml"
        path.write_text(path.read_text().replace("schedule: 30s", "schedule: 5m"))
        after = workspace.current()
    assert after is not before
    assert after.mappings["first"].schedule != before.mappings["first"].schedule
