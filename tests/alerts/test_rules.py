"""The alerts file: what it accepts, and a file:line error for each mistake an admin makes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.channels import EmailChannel, WebhookChannel
from alerts.rules import CauseFilter, Condition, load_alerts, parse_alerts
from core.errors import InputError
from core.redaction import redact
from mappings.loader import RESERVED_FILES, mapping_paths

REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SOURCE = "mappings/alerts.yaml"

GOOD = """\
dashboard_url: https://syncline.example.com/
channels:
  mail:
    type: email
    host: smtp.example.com
    port: "2525"
    username: bot@example.com
    password: ${SMTP_PASSWORD}
    from: syncline@example.com
    to: ${ALERT_TO}
  chat: {type: webhook, url: "https://hooks.slack.com/services/T1/B2/${HOOK_TOKEN}"}
rules:
  - {name: errors-rising, condition: errors_rising, rise: 10, within: 15m, channels: [mail]}
  - name: picklist
    condition: errors_rising
    mapping: [crm-lead]
    cause: {code: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, field: LeadSource, kind: validation}
    rise: 3
    within: 1h30m
  - {name: failing, condition: failing_runs, runs: 3, mapping: crm-lead, channels: [chat, mail]}
  - {name: stale, condition: stale, after: 2h}
  - {name: api, condition: api_usage, above: 90%, connection: crm}
  - {name: api-share, condition: api_usage, above: 0.75}
  - {name: paused, condition: paused, enabled: false}
  - {name: braked, condition: braked}
"""
ENV = {
    "SMTP_PASSWORD": "smtp-pass-4d2f9e",
    "ALERT_TO": "ops@example.com, sales-ops@example.com",
    "HOOK_TOKEN": "hooktoken7b3c",
}


def problems(text: str, **options: object) -> list[str]:
    """The error lines an admin would read for ``text``."""
    options.setdefault("env", {})
    with pytest.raises(InputError) as caught:
        parse_alerts(text, SOURCE, **options)  # type: ignore[arg-type]
    return str(caught.value).splitlines()


def test_a_good_file_loads_with_every_setting_read() -> None:
    rules = parse_alerts(GOOD, SOURCE, env=ENV)
    assert rules.dashboard_url == "https://syncline.example.com"
    mail = rules.channels["mail"]
    assert isinstance(mail, EmailChannel)
    assert (mail.host, mail.port, mail.starttls, mail.username, mail.password) == (
        "smtp.example.com", 2525, True, "bot@example.com", "smtp-pass-4d2f9e")
    assert mail.recipients == ("ops@example.com", "sales-ops@example.com")
    chat = rules.channels["chat"]
    assert isinstance(chat, WebhookChannel)
    assert chat.url == "https://hooks.slack.com/services/T1/B2/hooktoken7b3c"
    by_name = {rule.name: rule for rule in rules.rules}
    assert list(by_name) == ["errors-rising", "picklist", "failing", "stale", "api",
                             "api-share", "paused", "braked"]
    assert by_name["errors-rising"].within == timedelta(minutes=15)
    assert by_name["picklist"].cause == CauseFilter(
        code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", field="LeadSource", kind="validation")
    assert by_name["picklist"].within == timedelta(minutes=90)
    assert by_name["picklist"].subjects == ("crm-lead",)
    assert by_name["failing"].channels == ("chat", "mail")
    assert by_name["stale"].after == timedelta(hours=2)
    assert by_name["api"].above == 0.9 and by_name["api"].subjects == ("crm",)
    assert by_name["api-share"].above == 0.75
    assert by_name["api"].condition is Condition.API_USAGE
    assert by_name["paused"].enabled is False
    assert [c.name for c in rules.rule_channels(by_name["failing"])] == ["chat", "mail"]


def test_channel_secrets_are_registered_with_the_redactor() -> None:
    parse_alerts(GOOD, SOURCE, env=ENV)
    text = "login smtp-pass-4d2f9e to https://hooks.slack.com/services/T1/B2/hooktoken7b3c"
    assert redact(text) == "login *** to ***"
    # HTTP libraries quote a webhook's path on its own: that is the token too.
    assert "hooktoken7b3c" not in redact("url: /services/T1/B2/hooktoken7b3c")


def test_the_shipped_example_validates_without_any_environment() -> None:
    rules = load_alerts(REPO_MAPPINGS / "alerts.yaml", env={})
    assert {rule.condition for rule in rules.rules} == set(Condition)
    assert all(not channel.enabled for channel in rules.channels.values())


def test_the_shipped_example_turns_channels_on_from_the_environment() -> None:
    env = {"SYNCLINE_ALERT_EMAIL": "true", "SMTP_HOST": "smtp.example.com",
           "SMTP_USERNAME": "bot", "SMTP_PASSWORD": "pw-123456",
           "SYNCLINE_ALERT_WEBHOOK": "yes",
           "SYNCLINE_ALERT_WEBHOOK_URL": "https://example.webhook.office.com/webhookb2/abc"}
    rules = load_alerts(REPO_MAPPINGS / "alerts.yaml", env=env)
    assert rules.channels["ops-email"].enabled and rules.channels["ops-chat"].enabled


def test_an_enabled_channel_needs_its_settings() -> None:
    text = "channels:\n  chat: {type: webhook, enabled: '${ON:-true}', url: '${URL:-}'}\n"
    assert problems(text) == [f"{SOURCE}:2 channels.chat.url: required"]
    assert not parse_alerts(text, SOURCE, env={"ON": "false"}).channels["chat"].enabled


def test_an_unset_variable_is_an_error_only_for_an_enabled_channel() -> None:
    text = "channels:\n  chat:\n    type: webhook\n    enabled: ${ON}\n    url: ${URL}\n"
    assert problems(text, env={"ON": "true"}) == [
        f"{SOURCE}:5 channels.chat.url: environment variable URL is not set"]
    assert problems(text) == [
        f"{SOURCE}:4 channels.chat.enabled: environment variable ON is not set"]
    assert parse_alerts(text, SOURCE, env={"ON": "off"}).channels["chat"].enabled is False


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # A password would cross the network in clear text.
        ("host: smtp.example.com\n    starttls: false\n    username: u\n    password: pw-1234",
         "7 channels.mail.starttls: the password would cross the network in clear text: set "
         "starttls: true (or use a relay on localhost)"),
        ("host: smtp.example.com\n    starttls: sometimes",
         "7 channels.mail.starttls: expected true or false"),
        ("host: smtp.example.com\n    username: u",
         "2 channels.mail.password: required with username (the relay's login needs both)"),
        ("host: smtp.example.com\n    ca_file: /nonexistent/ca.pem",
         "7 channels.mail.ca_file: file not found: /nonexistent/ca.pem"),
    ],
)
def test_starttls_and_login_settings_are_checked(settings: str, expected: str) -> None:
    text = (
        "channels:\n  mail:\n    type: email\n    from: a@example.com\n    to: b@example.com\n"
        f"    {settings}\n"
    )
    assert problems(text) == [f"{SOURCE}:{expected}"]


def test_a_local_relay_may_take_a_login_without_starttls() -> None:
    text = ("channels:\n  mail: {type: email, host: 127.0.0.1, port: 25, starttls: false, "
            "username: u, password: pw-1234, from: a@example.com, to: b@example.com}\n")
    mail = parse_alerts(text, SOURCE, env={}).channels["mail"]
    assert isinstance(mail, EmailChannel) and mail.starttls is False


BAD = """\
channels:
  mail:
    type: email
    host: smtp.example.com
    port: 99999
    from: not-an-address
    to: [ops@example.com, nope]
    timeout: 0
  chat:
    type: webhook
    url: http://hooks.example.com/x
    colour: blue
  pager: {type: pager}
rules:
  - name: Errors
    condition: errors_rising
    rise: 0
    within: soon
  - name: runs
    condition: failing_runs
    channels: [mail, sms]
  - name: api
    condition: api_usage
    above: 150%
    mapping: crm
  - name: stale
    condition: stale
    after: "*/5 * * * *"
  - name: why
    condition: errors_rising
    rise: 3
    within: 5m
    cause: {code: X, kind: oops, colour: red}
  - name: runs
    condition: paused
  - condition: braked
  - name: zz
    condition: exploded
  - {name: unknown-mapping, condition: paused, mapping: [crm-lead, crm-leed]}
  - {name: unknown-connection, condition: api_usage, above: 50%, connection: dynamics}
extra: 1
"""


def test_every_mistake_is_reported_at_once_with_its_line_and_path() -> None:
    lines = problems(BAD, mappings=["crm-lead"], connections=["crm"])
    assert lines == [
        f"{SOURCE}:5 channels.mail.port: must be between 1 and 65,535",
        f"{SOURCE}:6 channels.mail.from: 'not-an-address' is not an email address",
        f"{SOURCE}:7 channels.mail.to[1]: 'nope' is not an email address",
        f"{SOURCE}:8 channels.mail.timeout: expected seconds, more than 0 and at most 300",
        f"{SOURCE}:11 channels.chat.url: refusing http://hooks.example.com: only https:// URLs "
        "are allowed (http:// only for localhost)",
        f"{SOURCE}:12 channels.chat.colour: unknown key 'colour' for a webhook channel (known: "
        "type, enabled, url, timeout)",
        f"{SOURCE}:13 channels.pager.type: 'pager' is not a channel type (allowed: email, "
        "webhook)",
        f"{SOURCE}:15 rules.Errors.name: 'Errors' is not kebab-case (e.g. errors-rising)",
        f"{SOURCE}:17 rules.Errors.rise: must be between 1 and 1,000,000",
        f"{SOURCE}:18 rules.Errors.within: 'soon' is not a duration: use 90s, 15m, 2h, 1h30m "
        "or 1d",
        f"{SOURCE}:19 rules[1]: missing 'runs' (condition failing_runs needs: runs)",
        f"{SOURCE}:21 rules[1].channels[1]: no channel named 'sms' (known: chat, mail, pager)",
        f"{SOURCE}:24 rules.api.above: '150%' is not a share of the allowance: write 90% "
        "(or 0.9)",
        f"{SOURCE}:25 rules.api.mapping: unknown key 'mapping' for condition api_usage (known: "
        "name, condition, channels, enabled, above, connection)",
        f"{SOURCE}:28 rules.stale.after: '*/5 * * * *' is not a duration: use 90s, 15m, 2h, "
        "1h30m or 1d",
        f"{SOURCE}:33 rules.why.cause.kind: 'oops' is not a kind (allowed: auth, config, "
        "rate_limited, transient, validation, duplicate, conflict, not_found, permission, "
        "system)",
        f"{SOURCE}:33 rules.why.cause.colour: unknown key 'colour' (known: code, field, kind, "
        "direction)",
        f"{SOURCE}:34 rules[5].name: rule 'runs' is already defined at line 19",
        f"{SOURCE}:36 rules[6]: missing 'name'",
        f"{SOURCE}:38 rules.zz.condition: 'exploded' is not a condition (allowed: "
        "errors_rising, failing_runs, stale, api_usage, paused, braked)",
        f"{SOURCE}:39 rules.unknown-mapping.mapping[1]: no mapping named 'crm-leed' (known: "
        "crm-lead)",
        f"{SOURCE}:40 rules.unknown-connection.connection: no connection named 'dynamics' "
        "(known: crm)",
        f"{SOURCE}:41 extra: unknown key 'extra' (known: channels, rules, dashboard_url)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- just a list\n", "1: expected a mapping with channels: and rules:"),
        ("rules: {name: x}\n", "1 rules: expected a list of rules (- name: ..., condition: ...)"),
        ("rules:\n  - errors_rising\n", "2 rules[0]: expected a rule: name, condition and its "
         "settings"),
        ("rules:\n  - {name: x, rise: 3}\n", "2 rules.x: missing 'condition' (one of "
         "errors_rising, failing_runs, stale, api_usage, paused, braked)"),
        ("rules:\n  - {name: x, condition: api_usage, above: 90}\n",
         "2 rules.x.above: 90 is not a share of the allowance: write 90% (or 0.9)"),
        ("rules:\n  - {name: x, condition: braked, channels: mail}\n",
         "2 rules.x.channels: no channel named 'mail' (known: none)"),
        ("rules:\n  - {name: x, condition: stale, after: 5s}\n",
         "2 rules.x.after: '5s' is not a duration: use 90s, 15m, 2h, 1h30m or 1d"),
        ("channels: [mail]\n", "1 channels: expected channel names, each with type: email or "
         "webhook"),
        ("channels:\n  mail: {host: x}\n", "2 channels.mail: required: type: email or type: "
         "webhook"),
        ("channels:\n  off: {type: webhook, enabled: false}\n", "1 channels: channel name "
         "false must be text: quote it ('false': ...)"),
        ("dashboard_url: example.com\n", "1 dashboard_url: expected the dashboard's address, "
         "http(s)://host:port"),
        ("rules:\n  - {name: x, condition: stale, after: 1h}\n  - {name: x, condition: stale, "
         "after: 1h}\n", "3 rules[1].name: rule 'x' is already defined at line 2"),
        ("rules:\n  a: 1\n  a: 2\n", "3 rules.a: duplicate key (the earlier value would be "
         "silently lost)"),
    ],
)
def test_one_mistake_one_line(text: str, expected: str) -> None:
    assert problems(text) == [f"{SOURCE}:{expected}"]


def test_an_empty_file_means_no_alerts() -> None:
    rules = parse_alerts("# nothing yet\n", SOURCE, env={})
    assert (rules.rules, rules.channels) == ((), {})


def test_a_missing_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_alerts(tmp_path / "alerts.yaml")
    assert caught.value.message == "file not found"


def test_mapping_paths_skip_the_reserved_files(tmp_path: Path) -> None:
    for name in ("hub.yaml", "alerts.yaml", "alerts.yml", "crm-lead.yaml", "webinar.yml"):
        (tmp_path / name).write_text("x: 1\n")
    assert [p.name for p in mapping_paths(tmp_path)] == ["crm-lead.yaml", "webinar.yml"]
    assert {"hub.yaml", "alerts.yaml"} <= RESERVED_FILES
    assert "alerts.yaml" not in [p.name for p in mapping_paths(REPO_MAPPINGS)]
