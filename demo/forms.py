"""The website's forms in the demo: a few signed submissions posted to POST /hooks/website-forms.

They go through the same route a real form does (signature checked, stored, answered 202),
in this process through Flask's test client, so ``syncline demo --once`` has them too. One
names a campaign the hub does not know: its error, with the raw submission and a Replay
button, is what an admin meets when marketing renames a program without telling the web team.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from inbound.signatures import sign

SOURCE = "website-forms"
#: (email, first, last, company, form, campaign, days ago, utm source/medium/campaign).
SUBMISSIONS = (
    ("maya.lindqvist@nordlicht.example", "Maya", "Lindqvist", "Nordlicht Energie",
     "pricing-demo", None, 6, ("linkedin", "paid_social", "q4-pricing")),
    ("tom.becker@example.org", "Tom", "Becker", "Becker Logistik", "ebook-attribution", None, 4,
     ("google", "cpc", "attribution-ebook")),
    ("maya.lindqvist@nordlicht.example", "Maya", "Lindqvist", "Nordlicht Energie",
     "webinar-signup", "Scoring in the Open", 2, ("newsletter", "email", "december")),
    ("ines.duarte@example.pt", "Inês", "Duarte", "Duarte & Filhos", "webinar-signup",
     "Spring Launch Webinar", 1, ("facebook", "paid_social", "spring-launch")),
)


def submissions(now: float) -> list[dict[str, Any]]:
    """The demo's form posts as the website sends them."""
    posts = []
    for email, first, last, company, form, campaign, days, utm in SUBMISSIONS:
        body: dict[str, Any] = {
            "email": email, "first_name": first, "last_name": last, "company": company,
            "form_id": form, "page_url": f"https://www.example.com/{form}",
            "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                          time.gmtime(now - days * 86_400)),
            "utm": dict(zip(("source", "medium", "campaign"), utm, strict=True)),
        }
        if campaign:
            body["campaign"] = campaign
        posts.append(body)
    return posts


def post_submissions(database_url: str, mappings_dir: Path, connections: Path,
                     secret: str) -> list[int]:
    """Post the demo's submissions signed with ``secret``; the HTTP status of each."""
    from app import create_app

    web = create_app({"DATABASE_URL": database_url, "MAPPINGS_DIR": str(mappings_dir),
                      "CONNECTIONS": str(connections), "SECRET_KEY": "demo-forms"})
    statuses = []
    try:
        client = web.test_client()
        now = time.time()
        for index, body in enumerate(submissions(now)):
            raw = json.dumps(body).encode()
            headers = sign("standard", secret, raw, event_id=f"demo-form-{index}",
                           timestamp=int(now))
            answer = client.post(f"/hooks/{SOURCE}", data=raw, headers=headers,
                                 content_type="application/json")
            statuses.append(answer.status_code)
    finally:
        # The sync that follows processes them; this app's worker must not race it.
        web.extensions["syncline.inbound"].processor.stop()
    return statuses
