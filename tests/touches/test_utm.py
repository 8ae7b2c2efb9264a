from __future__ import annotations

from touches.utm import UtmAliases, normalise, normalise_all

ALIASES = UtmAliases.of({"FB": "Facebook", "adwords": "google"}, {"ppc": "cpc", "Paid": "CPC"})


def test_source_and_medium_are_trimmed_lowered_and_aliased() -> None:
    assert normalise("source", "  FB ", ALIASES) == "facebook"
    assert normalise("source", "AdWords", ALIASES) == "google"
    assert normalise("source", "LinkedIn", ALIASES) == "linkedin"  # no alias: just lower-cased
    assert normalise("medium", "PPC", ALIASES) == "cpc"
    assert normalise("medium", " paid", ALIASES) == "cpc"


def test_other_fields_keep_their_case_and_blanks_are_none() -> None:
    values = normalise_all(
        {"utm_campaign": "  Spring_Launch ", "utm_term": "   ", "landing_page": None,
         "source": "", "email": "not a utm field"},
        ALIASES,
    )
    assert values == {"source": None, "utm_campaign": "Spring_Launch", "utm_term": None,
                      "landing_page": None}
