"""The connections file: env substitution, errors naming file:line, secrets registered."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from connectors.config import Connections, is_secret_key, load_connections
from connectors.conformance.secretforms import basic_forms
from connectors.memory import MemoryConnector, MemoryStore
from core.errors import InputError
from core.redaction import redact


@pytest.fixture(autouse=True)
def _fresh_shared_stores() -> None:
    MemoryStore.forget_shared()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_load_and_build(tmp_path: Path) -> None:
    path = write(tmp_path, """
        crm:
          type: memory
          page_size: 50
        webinars:
          type: memory
    """)
    connections = load_connections(path)
    assert connections.names == ["crm", "webinars"] and "crm" in connections
    assert connections.get("crm") == {"type": "memory", "page_size": 50}
    connector = connections.build("crm")
    assert isinstance(connector, MemoryConnector) and connector.page_size == 50
    assert connector.name == "crm"


def test_env_substitution(tmp_path: Path) -> None:
    path = write(tmp_path, """
        crm:
          type: memory
          path: ${DATA_DIR}/crm-${STAGE:-demo}.json
          retry:
            max_wait: 5
          note: "${EMPTY:-}"
    """)
    connections = load_connections(path, env={"DATA_DIR": "/var/lib/syncline"})
    config = connections.get("crm")
    assert config["path"] == "/var/lib/syncline/crm-demo.json"
    assert config["note"] == "" and config["retry"] == {"max_wait": 5}


def test_a_default_also_stands_in_for_an_empty_variable(tmp_path: Path) -> None:
    path = write(tmp_path, """
        crm:
          type: memory
          path: crm-${STAGE:-demo}.json
          label: "[${BLANK}]"
    """)
    config = load_connections(path, env={"STAGE": "", "BLANK": ""}).get("crm")
    assert config["path"] == "crm-demo.json", "as a shell does: unset or empty"
    assert config["label"] == "[]", "without a default, an empty value is a value"


def test_env_is_read_from_the_process_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_PAGE", "x")
    path = write(tmp_path, "crm:\n  type: memory\n  label: page-${CRM_PAGE}\n")
    assert load_connections(path).get("crm")["label"] == "page-x"


def test_unset_variable_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, """
        crm:
          type: memory
          api_key: ${DEMO_KEY}
    """)
    with pytest.raises(InputError) as info:
        load_connections(path, env={})
    assert info.value.where == f"{path}:3 crm.api_key"
    assert info.value.message == "environment variable DEMO_KEY is not set"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("crm:\n  type: salesforce9\n", ":2 crm.type", "unknown connector type 'salesforce9'"),
        ("crm:\n  path: x\n", ":1 crm", "missing 'type'"),
        ("crm: memory\n", ":1 crm", "expected settings with a 'type'"),
        ("- crm\n", ":1", "expected connection names"),
        ("crm:\n  type: memory\n  type: memory\n", ":3 crm.type", "duplicate key"),
        ("crm:\n  type: [memory\n", ":3", "not valid YAML"),
    ],
)
def test_file_errors_name_the_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_connections(path)
    assert info.value.where == f"{path}{where}"
    assert message in info.value.message


def test_unknown_type_lists_known_types(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_connections(write(tmp_path, "crm:\n  type: nope\n"))
    assert "(known: dynamics, memory, salesforce, webhook, zoom)" in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_connections(tmp_path / "absent.yaml")
    assert info.value.where == str(tmp_path / "absent.yaml")
    assert info.value.message == "file not found"


def test_empty_file_has_no_connections(tmp_path: Path) -> None:
    connections = load_connections(write(tmp_path, "# nothing yet\n"))
    assert connections.names == []
    with pytest.raises(InputError) as info:
        connections.get("crm")
    assert "no connection named 'crm'" in info.value.message


def test_bad_settings_fail_build_with_file_line_and_key_path(tmp_path: Path) -> None:
    path = write(tmp_path, """
        ok:
          type: memory
        crm:
          type: memory
          pagesize: 10
    """)
    connections = load_connections(path)
    with pytest.raises(InputError) as info:
        connections.build("crm")
    assert info.value.where == f"{path}:5 crm.pagesize"
    assert info.value.message.startswith("unknown key 'pagesize' (known: ")
    assert "page_size" in info.value.message
    connections.build("ok").close()  # a bad entry stops only its own connection


def test_secrets_are_registered_with_the_redactor(tmp_path: Path) -> None:
    path = write(tmp_path, """
        crm:
          type: memory
          api_key: ${CRM_KEY}
          oauth:
            client_secret: cs-5d1e-secret
            refresh_token: rt-77aa-token
            token_url: https://login.example.com/oauth2/token
          db_password: pw-93kq
    """)
    load_connections(path, env={"CRM_KEY": "ak-1f0c-9b2e"})
    text = "ak-1f0c-9b2e cs-5d1e-secret rt-77aa-token pw-93kq https://login.example.com/oauth2/token"
    assert redact(text) == "*** *** *** *** https://login.example.com/oauth2/token"


def test_a_secret_beside_a_client_id_or_username_is_registered_as_http_basic(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, """
        crm:
          type: memory
          api_key: ak-9c3e
          client_id: app-7
          client_secret: ${SECRET}
          username: sync@example.com
    """)
    load_connections(path, env={"SECRET": "cs-ä+/=%&#!-basic"})
    for user in ("app-7", "sync@example.com"):
        for name, form in basic_forms(user, "cs-ä+/=%&#!-basic").items():
            assert redact(f"header value {form}") == "header value ***", (user, name)


def test_declared_secret_keys_count_whatever_their_name() -> None:
    assert is_secret_key("api_key") and is_secret_key("sessionToken")
    assert is_secret_key("signing", frozenset({"signing"}))
    assert not is_secret_key("token_url") and not is_secret_key("instance_url")
    assert not is_secret_key("page_size")


def test_from_dict_checks_and_substitutes_like_a_file() -> None:
    store = MemoryStore()
    connections = Connections.from_dict(
        {"crm": {"type": "memory", "store": store, "api_key": "${K:-fd-default-key}"}},
        source="demo",
    )
    connector = connections.build("crm")
    assert isinstance(connector, MemoryConnector) and connector.store is store
    assert redact("fd-default-key") == "***"
    with pytest.raises(InputError) as info:
        Connections.from_dict({"crm": {"type": "nope"}}, source="demo")
    assert info.value.where == "demo crm.type"
