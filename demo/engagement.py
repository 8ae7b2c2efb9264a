"""The demo's marketing engagement: what people did, from which scores and stages follow.

Nothing here sets a score, a stage or AQL: the demo seeds touches (site visits, pricing page
views, email clicks, form fills, ebook downloads, paid clicks) over the last months, and the
hub steps score them with ``mappings/scoring.yaml`` and move people through
``mappings/lifecycle.yaml`` like any other touches. A few people are seeded engaged enough to
be MQLs on the first run, some of them automatically qualified (AQL) by title and account.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel import Session

from touches.record import TouchInput, record_touch
from touches.types import Origin

#: Titles the shipped AQL rule targets (VP, Director, Head of, Chief, CxO, Founder).
TARGET_TITLES = [
    "VP Marketing", "Director of Demand Generation", "Head of Growth", "Chief Revenue Officer",
    "VP Sales", "Director of IT", "Head of Marketing Operations", "CMO",
]

#: What a person may do on their own: (touch type, channel, source, medium, landing page,
#: detail). Pricing page views are web visits the scoring file rewards on their own.
ACTIONS = [
    ("web_visit", "Web", "google", "organic", "/blog/multi-touch-attribution", {}),
    ("web_visit", "Web", "google", "organic", "/pricing", {}),
    ("email_click", "Email", "newsletter", "email", "/resources/field-guide", {}),
    ("form_fill", "Web", "google", "cpc", "/demo-request", {}),
    ("content_download", "Web", "linkedin", "social", "/resources/roi-calculator",
     {"product": "A"}),
    ("ad_click", "Paid Ads", "linkedin", "cpc", "/lp/attribution", {}),
]


def engagement_touch(person_id: str, at: datetime, action: tuple) -> TouchInput:
    """One of :data:`ACTIONS` by a person at a time, as the touch it records."""
    kind, channel, source, medium, page, detail = action
    return TouchInput(person_id=person_id, occurred_at=at, touch_type=kind, origin=Origin.IMPORT,
                      channel=channel, source=source, medium=medium, landing_page=page,
                      detail=dict(detail))


def seed_engagement(
    db: Session, rnd: random.Random, people: list[str], now: datetime
) -> int:
    """Between none and seven touches per person over the last 120 days; returns the count.

    Engagement is skewed as real databases are: most people did little, a few did a lot.
    """
    touches = 0
    for person_id in people:
        count = min(7, int(rnd.expovariate(0.45)))
        for _ in range(count):
            at = now - timedelta(days=rnd.randint(0, 120), hours=rnd.randint(0, 23),
                                 minutes=rnd.randint(0, 59))
            record_touch(db, engagement_touch(person_id, at, rnd.choice(ACTIONS)))
            touches += 1
    return touches


def seed_hot_lead(db: Session, person_id: str, now: datetime) -> int:
    """A person who asked for a demo twice, priced and read this month: an MQL on any title."""
    moments = [
        (3, ACTIONS[3]), (9, ACTIONS[3]),        # two demo requests
        (2, ACTIONS[1]), (5, ACTIONS[1]),        # the pricing page on two days
        (4, ACTIONS[2]), (6, ACTIONS[2]), (8, ACTIONS[4]),
    ]
    for days, action in moments:
        record_touch(db, engagement_touch(person_id, now - timedelta(days=days, hours=2),
                                          action))
    return len(moments)
