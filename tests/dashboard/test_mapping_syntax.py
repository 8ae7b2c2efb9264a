"""The editor's text syntax (transforms, value maps, values) and the YAML text splicer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dashboard.mappings.editor import EditError, FileEdit, RowEdit, apply_edit, scalar
from dashboard.mappings.syntax import (
    SyntaxTextError,
    parse_transform,
    parse_value,
    parse_value_map,
    transform_text,
    value_map_text,
    value_text,
)
from mappings.loader import mapping_paths

REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = mapping_paths(REPO_MAPPINGS)


def shipped_rows() -> list[dict]:
    return [row for path in SHIPPED for row in yaml.safe_load(path.read_text())["fields"]]


# -- text syntax ---------------------------------------------------------------------------------


def test_every_shipped_transform_and_value_map_reads_back_unchanged() -> None:
    for row in shipped_rows():
        if row.get("transform"):
            assert parse_transform(transform_text(row["transform"])) == row["transform"]
        if row.get("value_map"):
            assert parse_value_map(value_map_text(row["value_map"])) == row["value_map"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("strip, lower, truncate: 80", ["strip", "lower", {"truncate": 80}]),
        ("truncate:80", [{"truncate": 80}]),
        ("phone_e164: GB", [{"phone_e164": "GB"}]),
        ('date: "%d, %b %Y"', [{"date": "%d, %b %Y"}]),
        ("datetime: %Y-%m-%dT%H:%M:%SZ", [{"datetime": "%Y-%m-%dT%H:%M:%SZ"}]),
        ("", []),
    ],
)
def test_transform_syntax(text: str, expected: list) -> None:
    assert parse_transform(text) == expected
    assert parse_transform(transform_text(expected)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("strip,, lower", "transform 2 (empty) should be a name"),
        ("truncate:", "transform truncate has a colon but no argument"),
        ('date: "%d', "a double quote is not closed"),
        ("lower case", "transform 1 (lower case) should be a name"),
    ],
)
def test_transform_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(SyntaxTextError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_transform(text)


def test_values_keep_their_type_both_ways() -> None:
    for value in ["Other", "Trade Show", "80", "true", " padded ", "", 'say "hi"', True, 5, 0.5,
                  None, "[not provided]", "a = b"]:
        assert parse_value(value_text(value)) == value
        assert type(parse_value(value_text(value))) is type(value)
    assert parse_value("true") is True and parse_value('"true"') == "true"
    assert parse_value("42") == 42 and parse_value('"42"') == "42"


def test_value_map_syntax() -> None:
    text = 'Podcast = Other\n\n  Word of Mouth=Referral  \r\n"a = b" = c\nyes = true'
    assert parse_value_map(text) == {
        "Podcast": "Other", "Word of Mouth": "Referral", "a = b": "c", "yes": True}
    assert value_map_text({"a = b": "c", "x": "true"}) == '"a = b" = c\nx = "true"'
    # A list reads several remote values back as one hub value (a Dynamics statecode).
    assert parse_value_map("true = [Won, Lost]\nfalse = Open") == {
        "true": ["Won", "Lost"], "false": "Open"}
    assert value_map_text({"closed": ["Won", "a, b"], "text": "[x]"}) == (
        'closed = [Won, "a, b"]\ntext = "[x]"')
    # An untouched line keeps the file's value even where the text would read differently.
    assert parse_value_map("on = Yes", keep={"on": "Yes"}) == {"on": "Yes"}
    for bad, message in [("Podcast Other",
                          "line 1 (Podcast Other) has no '=': write hub value = remote value"),
                         ("= x", "line 1: nothing before the '='"),
                         ("a =", "line 1: nothing after the '=' for 'a'"),
                         ("a = 1\na = 2", "line 2: 'a' is listed twice")]:
        with pytest.raises(SyntaxTextError) as caught:
            parse_value_map(bad)
        assert str(caught.value) == message


# -- the splicer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [("Trade Show", "Trade Show"), ("[not provided]", '"[not provided]"'), ("No", '"No"'),
     ("true", '"true"'), ("80", '"80"'), ("Closed - Not Converted", "Closed - Not Converted"),
     ("a, b", '"a, b"'), ("x: y", '"x: y"'), (True, "true"), (80, "80")],
)
def test_scalars_read_back_as_the_same_value(value: object, text: str) -> None:
    assert scalar(value) == text
    assert yaml.safe_load(f"k: {text}")["k"] == value
    assert yaml.safe_load(f"k: {{a: {text}}}")["k"]["a"] == value  # in flow context too


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_row_of_every_shipped_file_takes_an_edit(path: Path) -> None:
    """Each row gains a default and changes its rule; the file still reads as intended."""
    text = path.read_text()
    data = yaml.safe_load(text)
    edit = FileEdit(rows=[
        RowEdit(i, set={"rule": "none", "default": "x y", "value_map": {"A": "B", "C": "D"}})
        for i in range(len(data["fields"]))
    ], top_set={"pull_rule": "Id != 'x'"})
    after = yaml.safe_load(apply_edit(text, edit))
    for key in set(data) | set(after):
        if key not in ("fields", "pull_rule"):
            assert after[key] == data[key]
    assert after["pull_rule"] == "Id != 'x'"
    for old, new in zip(data["fields"], after["fields"], strict=True):
        assert new == {**old, "rule": "none", "default": "x y", "value_map": {"A": "B", "C": "D"}}
    # Comments are all still there.
    comments = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
    kept = apply_edit(text, edit)
    assert all(comment in kept for comment in comments)


def test_a_wrapped_flow_map_stays_wrapped() -> None:
    text = (REPO_MAPPINGS / "salesforce-campaign-member.yaml").read_text()
    data = yaml.safe_load(text)
    index = next(i for i, row in enumerate(data["fields"]) if row.get("hub") == "status")
    value_map = {**data["fields"][index]["value_map"], "bounced": "Bounced"}
    after = apply_edit(text, FileEdit(rows=[RowEdit(index, set={"value_map": value_map})]))
    assert ("    value_map: {sent: Sent, responded: Responded, invited: Invited, registered: "
            "Registered,\n                attended: Attended, no_show: No Show, filled_out: "
            "Filled-out Form, bounced: Bounced}\n") in after


def test_block_value_map_entries_change_one_line_each() -> None:
    text = (REPO_MAPPINGS / "salesforce-lead.yaml").read_text()
    data = yaml.safe_load(text)
    index = next(i for i, row in enumerate(data["fields"]) if row.get("hub") == "lead_source")
    value_map = dict(data["fields"][index]["value_map"])
    del value_map["Event"]
    value_map["Phone"] = "Other"
    value_map["Podcast"] = "Other"
    after = apply_edit(text, FileEdit(rows=[RowEdit(index, set={"value_map": value_map})]))
    assert after == (text.replace("      Event: Trade Show\n", "")
                     .replace("Phone: Phone Inquiry", "Phone: Other")
                     .replace("      List Import: Purchased List\n",
                              "      List Import: Purchased List\n      Podcast: Other\n"))


def test_removing_keys_and_rows_and_a_file_without_a_final_newline() -> None:
    text = ("name: x\n"
            "fields:\n"
            "  - {hub: a, remote: A, default: z}\n"
            "  # about b\n"
            "  - {hub: b, remote: B}\n"
            "  - hub: c\n"
            "    remote: C\n"
            "    transform: [strip]")
    edit = FileEdit(rows=[RowEdit(0, drop=["default"]), RowEdit(1, remove=True),
                          RowEdit(2, drop=["transform"]), RowEdit(None, set={"hub": "d",
                                                                             "remote": "D"})])
    assert apply_edit(text, edit) == ("name: x\n"
                                      "fields:\n"
                                      "  - {hub: a, remote: A}\n"
                                      "  - hub: c\n"
                                      "    remote: C\n"
                                      "  - {hub: d, remote: D}\n")


def test_layouts_the_splicer_will_not_guess_at() -> None:
    with pytest.raises(EditError, match="not valid YAML"):
        apply_edit("name: [x\n", FileEdit(top_set={"sync_rule": "a"}))
    with pytest.raises(EditError, match="written as a"):
        apply_edit("name: x\nfields: [{hub: a, remote: A}]\n",
                   FileEdit(rows=[RowEdit(None, set={"hub": "b", "remote": "B"})]))
