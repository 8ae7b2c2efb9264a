"""Revenue shares: a deal's amount split by one model's credits, in cents that add up."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from attribution.apportion import apportion, common_units
from attribution.models import Attribution

CENT = Decimal("0.01")


def revenue_shares(amount: Decimal, result: Attribution) -> list[Decimal]:
    """A deal's amount split by one model's credits, in cents that add up to the amount.

    One share per item of ``result.credits`` (same order), then one last item: the pending
    share, or for an unattributed deal the whole amount (no touch earned it). The amount is
    first rounded to cents (half-even), so the shares sum exactly to what a CRM currency
    field shows. Ties between equal remainders go to the smaller touch id, the last item last.
    """
    cents = int(amount.quantize(CENT, rounding=ROUND_HALF_EVEN) * 100)
    if result.unattributed:
        weights, keys = [Fraction(1)], ["1"]  # credits is empty: the whole amount
    else:
        weights = [c.credit for c in result.credits] + [result.pending]
        # The pending item sorts after every touch id: it is not a touch.
        keys = [f"0{c.touch_id}" for c in result.credits] + ["1"]
        if not any(weights):
            raise ValueError(f"deal {result.deal_id}: credits are all zero")
    sign = -1 if cents < 0 else 1
    parts = apportion(abs(cents), common_units(weights), keys)
    return [(Decimal(sign * p) / 100).quantize(CENT) for p in parts]
