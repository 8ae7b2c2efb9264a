"""Splitting a whole into exact parts: largest remainder, ties broken by a stable key.

Used for time-decay credits (units of 10⁻¹²) and revenue shares (cents), so both follow one
rule. Each part first gets the floor of its exact share; the units left over go one each to
the parts with the largest remainders, ties to the smallest key. The parts then add up to the
whole exactly, whatever order they were given in. Integer arithmetic throughout: exact, and
fast enough for a full recompute of every deal.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import lcm


def apportion(total: int, weights: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Split ``total`` units in proportion to ``weights`` (≥ 0, not all 0); sums to ``total``.

    ``keys`` (one per weight, distinct) break ties between equal remainders: smallest first.
    """
    if len(weights) != len(keys):
        raise ValueError("one key per weight")
    whole = sum(weights)
    if whole <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be ≥ 0 and not all 0")
    split = [divmod(total * w, whole) for w in weights]
    parts = [quotient for quotient, _ in split]
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-split[i][1], keys[i]))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def common_units(ratios: Sequence[Fraction | tuple[int, int]]) -> list[int]:
    """Ratios as integers over their least common denominator: same proportions, exactly."""
    pairs = [(r.numerator, r.denominator) if isinstance(r, Fraction) else r for r in ratios]
    denominator = lcm(*(d for _, d in pairs)) if pairs else 1
    return [n * (denominator // d) for n, d in pairs]
