"""``campaign_influence`` is a hub object a mapping file can name, refs and all."""

from __future__ import annotations

import shutil
from pathlib import Path

from mappings.loader import load_mappings

REPO = Path(__file__).resolve().parents[2]

INFLUENCE = """\
name: salesforce-campaign-influence
connection: salesforce
hub_object: campaign_influence
remote_object: CampaignInfluence
direction: to_remote
identity: {external_id: Syncline_Id__c, match: []}
create: {remote: true, hub: false}
deletes: {from_hub: delete_remote}
fields:
  - {hub: opportunity_id, remote: OpportunityId, ref: salesforce-opportunity}
  - {hub: campaign_id, remote: CampaignId, ref: salesforce-campaign}
  - {hub: person_id, remote: ContactId, ref: salesforce-contact}
  - {hub: influence, remote: Influence}
  - {hub: revenue, remote: RevenueShare}
"""


def test_a_mapping_can_send_campaign_influence_rows(tmp_path: Path) -> None:
    for name in ("hub.yaml", "salesforce-opportunity.yaml", "salesforce-campaign.yaml",
                 "salesforce-contact.yaml", "salesforce-account.yaml"):
        shutil.copy(REPO / "mappings" / name, tmp_path / name)
    (tmp_path / "salesforce-campaign-influence.yaml").write_text(INFLUENCE, encoding="utf-8")
    loaded = load_mappings(tmp_path)
    mapping = loaded["salesforce-campaign-influence"]
    assert mapping.hub_object == "campaign_influence"
    assert [f.hub for f in mapping.fields] == [
        "opportunity_id", "campaign_id", "person_id", "influence", "revenue"]
