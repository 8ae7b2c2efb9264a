"""A bad connections file: every problem named ``file:line key.path``, exit code 2, nothing run.

Connection settings are checked by the same models and words as mapping files, after
``${VAR}`` substitution, before any connector is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import Invoke
from tests.cli.helpers import CONNECTIONS, count, error_lines, write


@pytest.fixture
def untouched(ready: Engine, project: Path) -> Iterator[Path]:
    """The project; after the test no run was recorded and no store file was written."""
    yield project
    assert count(ready, "sync_run") == 0
    assert not (project / "crm.json").exists()


def sync_fails(syncline: Invoke, project: Path, connections: str) -> list[str]:
    """``syncline sync`` with this connections file: exit code 2 and only error lines."""
    write(project / "connections.yaml", connections)
    result = syncline("sync")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return error_lines(result)


def test_an_unknown_key_names_its_line_and_path_and_the_known_keys(
    syncline: Invoke, untouched: Path
) -> None:
    lines = sync_fails(syncline, untouched, CONNECTIONS + "  retry:\n    max_tires: 3\n")
    assert lines == [
        "error: connections.yaml:5 crm.retry.max_tires: unknown key 'max_tires' "
        "(known: initial_wait, max_tries, max_wait)"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  page_size: '50'\n", "connections.yaml:4 crm.page_size: expected a whole number"),
        ("  retry: 3\n", "connections.yaml:4 crm.retry: expected a mapping (key: value)"),
        ("  retry:\n    initial_wait: soon\n",
         "connections.yaml:5 crm.retry.initial_wait: expected a number"),
        ("  versions: minutes\n",
         "connections.yaml:4 crm.versions: 'minutes' is not an allowed value "
         "(allowed: sequence, seconds)"),
    ],
    ids=["quoted-number", "retry-not-a-block", "wait-not-a-number", "not-a-choice"],
)
def test_a_value_of_the_wrong_type_names_its_line_and_path(
    syncline: Invoke, untouched: Path, extra: str, expected: str
) -> None:
    assert sync_fails(syncline, untouched, CONNECTIONS + extra) == [f"error: {expected}"]


def test_every_bad_retry_value_is_listed_at_once(syncline: Invoke, untouched: Path) -> None:
    lines = sync_fails(
        syncline, untouched,
        CONNECTIONS + "  retry:\n    max_tries: 0\n    initial_wait: 1\n    max_wait: -5\n",
    )
    assert lines == [
        "error: connections.yaml:5 crm.retry.max_tries: must be at least 1",
        "error: connections.yaml:7 crm.retry.max_wait: must be at least 0",
    ]


def test_plain_http_is_refused_after_substitution_except_on_loopback(
    syncline: Invoke, untouched: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    salesforce = (
        "crm:\n"
        "  type: salesforce\n"
        "  login_url: ${SF_LOGIN_URL}\n"
        "  client_id: app\n"
        "  client_secret: ${SF_SECRET}\n"
        "  username: sync@example.com\n"
        "  password: ${SF_SECRET}\n"
    )
    monkeypatch.setenv("SF_SECRET", "s3cr3t-value-9x")
    monkeypatch.setenv("SF_LOGIN_URL", "http://login.example.com")
    lines = sync_fails(syncline, untouched, salesforce)
    assert lines == [
        "error: connections.yaml:3 crm.login_url: refusing http://login.example.com: only "
        "https:// URLs are allowed (http:// only for localhost); use the https:// address of "
        "the instance"
    ]
    monkeypatch.delenv("SF_LOGIN_URL")
    lines = sync_fails(syncline, untouched, salesforce.replace("${SF_LOGIN_URL}", "''"))
    assert lines == ["error: connections.yaml:3 crm.login_url: refusing a relative URL: only "
                     "https:// URLs are allowed (http:// only for localhost); use the https:// "
                     "address of the instance"]


def test_a_missing_setting_says_what_to_give(syncline: Invoke, untouched: Path) -> None:
    lines = sync_fails(syncline, untouched, "crm:\n  type: dynamics\n  client_id: app\n"
                                            "  client_secret: x\n  url: https://org.example\n")
    assert lines == [
        "error: connections.yaml:1 crm.token_url: required "
        "(https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token)"
    ]


def test_a_rule_across_settings_names_the_connection(syncline: Invoke, untouched: Path) -> None:
    lines = sync_fails(
        syncline, untouched,
        "crm:\n  type: salesforce\n  login_url: https://login.salesforce.com\n"
        "  auth: client_credentials\n  client_id: app\n",
    )
    assert lines == ["error: connections.yaml:1 crm: auth 'client_credentials' needs client_secret"]
