"""Multi-touch attribution: how much of each opportunity each marketing touch earned.

Pure computation, no database and no I/O: the hub's tables, the incremental engine, the CLI
and the dashboard feed deals and touches in and store what comes out.

Journey and positions. For one deal (opportunity), the touches of its people from
``created − lookback_days`` up to the end of its close day (closed) or now (open), ordered by
``(occurred_at, id)``, form its journey. A *position* is a milestone a touch can hold: FT (the
first touch), LC (the first touch of a lead-creation type, else the FT), OC (the last touch at
or before the deal's creation; absent when every touch came later) and CW (the last touch up
to the close, won deals only). One touch may hold several; a touch holding none is a middle.

Models. Position models give each position a share and split a middle share equally among
their middles (U: between FT and LC; W: up to the deal's creation; full path and custom: all).
A touch gets the sum of its positions' shares. ``linear`` and ``time_decay`` ignore positions.

Redistribution. A share with nowhere to go, a position that does not exist or a middle share
with no middle in range, is split equally among the distinct touches holding the model's
existing positions (the FT when there are none), so nothing is lost.

Pending. A CW share on an open or lost deal is kept apart as ``pending``, Marketo Measure's
placeholder: credits + pending is exactly 1 for every deal with a touch. A deal without any
touch is ``unattributed``, never dropped.

Exactness. Credits are :class:`fractions.Fraction` and sum to 1 exactly; time-decay shares are
rounded to multiples of 10⁻¹² by largest remainder. Revenue shares are cents that sum exactly
to the amount (:func:`revenue_shares`).

Use::

    settings = load_settings("mappings/attribution.yaml")
    for result in settings.attribute(deal, touches, now):
        shares = revenue_shares(deal.amount, result)   # when the deal has an amount
"""

from attribution.config import AttributionSettings, load_settings, parse_settings
from attribution.models import (
    BUILTIN_MODELS,
    Attribution,
    Credit,
    LinearModel,
    MiddleRange,
    Model,
    PositionModel,
    TimeDecayModel,
)
from attribution.money import revenue_shares
from attribution.positions import (
    DEFAULT_LEAD_CREATION_TYPES,
    MIDDLE,
    Deal,
    Journey,
    Position,
    Positions,
    TouchPoint,
    build_journey,
    find_positions,
    select_touches,
)

__all__ = [
    "BUILTIN_MODELS", "DEFAULT_LEAD_CREATION_TYPES", "MIDDLE", "Attribution",
    "AttributionSettings", "Credit", "Deal", "Journey", "LinearModel", "MiddleRange", "Model",
    "Position", "PositionModel", "Positions", "TimeDecayModel", "TouchPoint", "build_journey",
    "find_positions", "load_settings", "parse_settings", "revenue_shares", "select_touches",
]
