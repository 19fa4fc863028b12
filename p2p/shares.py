"""How a loan's repayments are shared out to its notes, exactly over the life of the loan.

Rounding each repayment's shares on its own drifts: over a life the odd cents pile up on the same
notes, so a note can be owed a negative amount before the last installment and the loan can never
be repaid. The share-out here carries the rounding instead (a cumulative quota rule):

- For each kind of money (principal; interest, fees and penalties together) the loan keeps the
  cumulative total its holders have received, and each note its own cumulative total.
- When a repayment raises the loan's cumulative total from T to T', each note's exact pro-rata
  entitlement is q = T' x note principal / principal of all notes. The note's new cumulative total
  is q rounded down to the cent, or one cent more; never less than what it already received (no
  share is negative); and the totals add up to exactly T'.
- Which notes get the cent above q rounded down: those that would earn it soonest as the total
  grows, i.e. with the smallest (cent - remainder) / principal (ties: the larger remainder, then
  the older note). This is the
  priority of Balinski and Young's quota method; it keeps every note within a cent of its exact
  share at every point, and lets the next repayment do the same.
- So every note is within one cent of its exact pro-rata share of everything received so far, and
  when the last principal comes in (T' = the loan's principal) q is exact: each note gets back
  exactly its principal.

Worked example (README, P2P section): 10,000.00 lent by two notes of 5,000.00. The first repayment
passes on 100.01 of interest: the notes are owed 50.005 each; one gets 50.01 (the older), the other
50.00. The next passes on 100.01 more: cumulative 200.02, 100.01 each exactly, so the second note
now gets 50.01 and the first 50.00.
"""

import logging
from decimal import Decimal
from fractions import Fraction

logger = logging.getLogger(__name__)


def cumulative_split(*, total: Decimal, received: list[Decimal], weights: list[Decimal], unit: Decimal) -> list[Decimal]:
    """The new shares (one per weight) that bring each holder's cumulative receipts from `received`
    to within one `unit` of its pro-rata share of the new cumulative `total`, never negative, adding
    up to exactly `total - sum(received)`."""
    if not weights:
        return []
    t = int(total / unit)
    got = [int(r / unit) for r in received]
    w = [int(x / unit) for x in weights]
    weight_sum = sum(w)
    floors = [t * x // weight_sum for x in w]
    remainders = [t * x % weight_sum for x in w]
    new = [max(g, f) for g, f in zip(got, floors, strict=True)]
    left = t - sum(new)
    if left < 0:  # not reached with the priority below (checked over random lives); stay exact and non-negative
        logger.warning("Share-out fell back to deficits: %s received of %s over weights %s", received, total, weights)
        return _split_by_deficit(t - sum(got), [Fraction(t * x, weight_sum) - g for x, g in zip(w, got, strict=True)], unit)
    eligible = [i for i in range(len(w)) if new[i] == floors[i] and remainders[i]]
    eligible.sort(key=lambda i: (Fraction(weight_sum - remainders[i], w[i]), -remainders[i], i))
    for i in eligible[:left]:
        new[i] += 1
    return [(n - g) * unit for n, g in zip(new, got, strict=True)]


def _split_by_deficit(increment: int, deficits: list[Fraction], unit: Decimal) -> list[Decimal]:
    positive = [max(d, Fraction(0)) for d in deficits]
    whole = sum(positive)
    exact = [increment * d / whole if whole else Fraction(0) for d in positive]
    shares = [int(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: increment - sum(shares)]:
        shares[i] += 1
    return [s * unit for s in shares]
