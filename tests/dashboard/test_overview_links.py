"""The overview's pointers: the broken-file banner leads to Mappings, the footnote's command."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from core.models import SyncRun
from tests.dashboard.workspace_files import mapping_yaml, use_files


def test_broken_mapping_banner_links_to_the_mappings_page_that_lists_the_problem(
    client: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    use_files(app, tmp_path, {"crm": {"type": "memory", "path": str(tmp_path / "crm.json")}},
              [mapping_yaml("crm-person", "crm")])
    (tmp_path / "mappings" / "broken.yaml").write_text(
        "name: broken\nconnection: crm\nhub_object: persn\n", encoding="utf-8")
    html = client.get("/").get_data(as_text=True)
    banner = re.search(r'<p class="hint" id="file-problems">.*?</p>', html, re.S)
    assert banner, "the overview says some files have problems"
    assert 'href="/mappings"' in banner.group(0)
    assert "/connections" not in banner.group(0)
    listed = client.get("/mappings").get_data(as_text=True)
    assert "broken.yaml:1 remote_object: required" in listed, "the page it links to names it"


def test_next_run_footnote_names_the_scheduler_command(
    client: FlaskClient, app: Flask, tmp_path: Path, add_run: Callable[..., SyncRun]
) -> None:
    use_files(app, tmp_path, {"crm": {"type": "memory", "path": str(tmp_path / "crm.json")}},
              [mapping_yaml("crm-person", "crm")])
    add_run("crm-person")
    html = client.get("/").get_data(as_text=True)
    assert "the scheduler (<code>syncline scheduler</code>)" in html
    assert "sync --serve" not in html
