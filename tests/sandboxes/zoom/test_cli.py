"""``syncline sandbox zoom`` is registered beside the other sandboxes, on port 8703."""

from __future__ import annotations

from click.testing import CliRunner

from cli import main


def test_sandbox_zoom_command_defaults_to_port_8703() -> None:
    result = CliRunner().invoke(main, ["sandbox", "zoom", "--help"])
    assert result.exit_code == 0, result.output
    assert "8703" in result.output
    assert "--plan" in result.output


def test_sandbox_zoom_refuses_bad_fault_rates() -> None:
    result = CliRunner().invoke(main, ["sandbox", "zoom", "--rate-429", "2", "--port", "0"])
    assert result.exit_code != 0
    assert "probability" in result.output
