"""``syncline sandbox NAME``: an unreadable state file is a clear error for every sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main


@pytest.mark.parametrize("name", ["salesforce", "dynamics", "zoom"])
def test_an_unreadable_state_file_names_the_option_and_the_file(
    name: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("not json", encoding="utf-8")

    result = CliRunner().invoke(main, ["sandbox", name, "--port", "0", "--state", str(state)])

    assert result.exit_code == 2, result.output
    assert f"error: --state: {state}" in result.output
    assert "Traceback" not in result.output and "NameError" not in result.output
