"""Splitting a whole into exact parts: largest remainder, ties broken by a stable key.

Used for time-decay credits (units of 10⁻¹²) and revenue shares (cents), so both follow one
rule. Each part first gets the floor of its exact share; the units left over go one each to
the parts with the largest remainders, ties to the smallest key. The parts then add up to the
whole exactly, whatever order they were given in.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def apportion(total: int, weights: Sequence[Fraction], keys: Sequence[str]) -> list[int]:
    """Split ``total`` units in proportion to ``weights`` (≥ 0, not all 0); sums to ``total``.

    ``keys`` (one per weight, distinct) break ties between equal remainders: smallest first.
    """
    if len(weights) != len(keys):
        raise ValueError("one key per weight")
    whole = sum(weights, Fraction(0))
    if whole <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be ≥ 0 and not all 0")
    exact = [Fraction(total) * w / whole for w in weights]
    parts = [e.numerator // e.denominator for e in exact]
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), keys[i]))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts
