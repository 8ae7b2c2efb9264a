"""A small hub with attribution computed, for the dashboard's attribution tests; table reading."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import Engine

from attribution.config import parse_settings
from attribution.engine import run
from core.models import Campaign
from tests.attribution.hub import add, opportunity, person, role, touch, when

#: first_touch, w_shaped and full_path, contact roles, a year's lookback.
SETTINGS = """\
people: contact_roles
lookback_days: 365
models: [first_touch, w_shaped, full_path]
"""
#: A campaign name that must reach the page as text, never as markup.
MARKUP_NAME = '<b>Webinar</b> & "Co"'
#: The time the tests freeze the clock at: after every touch, O still open.
NOW = when("2026-05-01 00:00")


def build(engine: Engine) -> None:
    """Won W (Ann, Bob), open O (Ann), touchless N (Cy); touches of three campaigns and one bare.

    W (1,000, created 1 March, won 10 April): t1 ads (FT), t2 webinar form fill (LC),
    t3 news (OC), t4 no campaign (CW). O (600, open): t1 (FT), t2 (LC, OC), CW pending.
    """
    add(engine, person("ann"), person("bob"), person("cy"),
        Campaign(id="ads", name="Ads", channel="Paid"),
        Campaign(id="webinar", name=MARKUP_NAME, channel="Webinar"),
        Campaign(id="news", name="News", channel="Email"))
    t1 = touch("t1", "ann", "2026-01-10 09:00", "web_visit", "ads")
    t1.source, t1.medium, t1.origin = "google", "cpc", "import"
    add(engine, t1,
        touch("t2", "ann", "2026-02-01 09:00", "form_fill", "webinar"),
        touch("t3", "bob", "2026-02-20 09:00", "email_click", "news"),
        touch("t4", "bob", "2026-03-20 09:00", "event"),
        opportunity("W", "2026-03-01 10:00", amount=1000.0, closed="2026-04-10", won=True),
        opportunity("O", "2026-03-01 10:00", amount=600.0),
        opportunity("N", "2026-03-05 10:00", amount=500.0))
    add(engine, role("W", "ann", primary=True), role("W", "bob"), role("O", "ann"),
        role("N", "cy"))


def compute(engine: Engine, folder: Path) -> None:
    """What ``syncline attribution run`` does with ``folder``'s attribution file."""
    run(engine, parse_settings((folder / "attribution.yaml").read_text(), "attribution.yaml"))


class _Cells(HTMLParser):
    """The text of each row's cells of one table (by id), ``<wbr>`` ignored."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # >0 inside the wanted table
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    """Rows of cell texts of the table ``table_id`` (header rows included)."""
    parser = _Cells(table_id)
    parser.feed(html)
    assert parser.rows, f"no table #{table_id} on the page"
    return parser.rows
