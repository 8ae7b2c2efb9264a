from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputErrors
from core.models import Campaign
from mappings.loader import load_mappings
from touches.programs import check_mappings, load_programs

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "programs.yaml"
    path.write_text(text, encoding="utf-8")
    return load_programs(path)


def test_the_shipped_file_loads_and_the_campaign_mappings_use_its_statuses() -> None:
    programs = load_programs(SHIPPED / "programs.yaml")
    webinar = programs.channel_of(Campaign(name="x", type="Webinar"))
    assert webinar is not None and webinar.name == "Webinar"
    assert [s.code for s in webinar.statuses][:4] == ["invited", "registered", "no_show",
                                                      "attended"]
    attended = webinar.status("Attended")
    assert attended is not None and attended.success and attended.touch_type == "webinar_attended"
    assert webinar.status("registered").touch_type == "webinar_registration"  # type: ignore[union-attr]
    responded = webinar.status("responded")  # shared: valid in every channel
    assert responded is not None and responded.success
    trade_show = programs.channel_of(Campaign(name="x", type="trade show"))
    assert trade_show is not None and trade_show.name == "Event"
    assert programs.channel_of(Campaign(name="x")).name == "Other"  # type: ignore[union-attr]
    assert programs.aliases.source["fb"] == "facebook"
    mappings = load_mappings(SHIPPED)
    assert check_mappings(programs, mappings) == []


def test_problems_are_reported_with_file_line_and_path(tmp_path: Path) -> None:
    with pytest.raises(InputErrors) as caught:
        _load(tmp_path, """\
default_channel: Nowhere
channels:
  Webinar:
    touch_type: webinar_watched
    statuses:
      - {status: attended, success: true}
  Email:
    touch_type: email_click
    statuses:
      - {status: sent}
      - {status: sent}
    campaign_tpyes: [Email]
""")
    assert [str(e) for e in caught.value.errors] == [
        f"{tmp_path}/programs.yaml:1 default_channel: no channel named 'Nowhere' (known: "
        "Webinar, Email)",
        f"{tmp_path}/programs.yaml:4 channels.Webinar.touch_type: 'webinar_watched' is not a "
        "touch type (allowed: form_fill, webinar_registration, webinar_attended, event, "
        "ad_click, email_click, web_visit, content_download, sales_touch, other)",
        f"{tmp_path}/programs.yaml:12 channels.Email.campaign_tpyes: unknown key "
        "'campaign_tpyes' (known: campaign_types, statuses, touch_type)",
    ]
    with pytest.raises(InputErrors) as caught:
        _load(tmp_path, """\
channels:
  Email:
    touch_type: email_click
    statuses:
      - {status: sent}
      - {status: Sent}
""")
    assert [str(e) for e in caught.value.errors] == [
        f"{tmp_path}/programs.yaml:6 channels.Email.statuses[1].status: status 'Sent' is "
        "listed twice",
    ]


def test_a_member_mapping_status_the_file_lacks_is_an_error_at_its_value_map(
    tmp_path: Path,
) -> None:
    programs = _load(tmp_path, """\
channels:
  Webinar:
    touch_type: webinar_attended
    statuses:
      - {status: registered}
      - {status: attended, success: true}
""")
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "members.yaml").write_text("""\
name: members
connection: crm
hub_object: campaign_member
remote_object: CampaignMember
direction: both
identity: {match: []}
fields:
  - {hub: person_id, remote: LeadId}
  - hub: status
    remote: Status
    value_map: {registered: Registered, went: Attended}
""", encoding="utf-8")
    found = check_mappings(programs, load_mappings(folder))
    assert [str(p) for p in found] == [
        f"{folder}/members.yaml:11 fields.status.value_map: error: 'went' is not a member "
        f"status in {tmp_path}/programs.yaml (statuses: attended, registered); add it to a "
        "channel's statuses or to shared_statuses",
    ]
