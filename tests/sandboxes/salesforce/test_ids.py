import pytest

from sandboxes.salesforce.ids import KEY_PREFIXES, IdMinter, is_valid, object_of, prefix_of, to18


def test_checksum_matches_the_documented_example():
    assert to18("001D000000IqhSL") == "001D000000IqhSLIAZ"


def test_an_18_char_id_is_case_insensitive_and_comes_back_case_exact():
    assert to18("001d000000iqhsliaz") == "001D000000IqhSLIAZ"
    assert to18("001D000000IqhSLIAZ") == "001D000000IqhSLIAZ"


@pytest.mark.parametrize(
    "bad", ["", "123", "001D000000IqhS", "001D000000IqhSL!", "001D000000IqhSLIA9", 12345, None]
)
def test_malformed_ids_are_rejected(bad):
    assert not is_valid(bad)
    with pytest.raises(ValueError):
        to18(bad)


def test_minted_ids_carry_prefix_pod_and_a_valid_checksum():
    minter = IdMinter()
    ids = [minter.mint(KEY_PREFIXES["Lead"]) for _ in range(200)]
    assert len(set(ids)) == 200
    for record_id in ids:
        assert len(record_id) == 18
        assert record_id[3:6] == "5e0"
        assert to18(record_id[:15]) == record_id
        assert prefix_of(record_id) == "00Q"
        assert object_of(record_id) == "Lead"


@pytest.mark.parametrize(
    ("sobject", "prefix"),
    [
        ("Account", "001"), ("Contact", "003"), ("User", "005"), ("Opportunity", "006"),
        ("Lead", "00Q"), ("CampaignMember", "00v"), ("Campaign", "701"),
        ("CampaignMemberStatus", "01Y"), ("OpportunityContactRole", "00K"),
        ("Organization", "00D"), ("BulkJob", "750"), ("QueryLocator", "01g"),
    ],
)  # fmt: skip
def test_key_prefixes(sobject, prefix):
    assert KEY_PREFIXES[sobject] == prefix
    assert object_of(IdMinter().mint(prefix)) == sobject
