"""Property tests: every repayment's shares add up to exactly what was received."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from p2p.services import largest_remainder_split

cents = st.integers(min_value=0, max_value=10**10).map(lambda c: Decimal(c) / 100)
weights = st.lists(st.integers(min_value=1, max_value=10**8).map(lambda c: Decimal(c) / 100), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(total=cents, weights=weights)
def test_shares_add_up_to_the_total_and_stay_within_a_cent_of_pro_rata(total, weights):
    shares = largest_remainder_split(total, weights)
    assert sum(shares) == total
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert share == share.quantize(Decimal("0.01")) and share >= 0
        assert abs(share - total * weight / weight_sum) < Decimal("0.01")


def test_leftover_cents_go_to_the_largest_remainders_then_the_oldest():
    # 1.00 over three equal notes: 0.33 each and one cent left, which goes to the first
    assert largest_remainder_split(Decimal("1.00"), [Decimal(1)] * 3) == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]
    # 0.10 over weights 1 and 2: exact 0.0333 and 0.0667; remainders 0.0033 and 0.0067 -> the cent goes to the second
    assert largest_remainder_split(Decimal("0.10"), [Decimal(1), Decimal(2)]) == [Decimal("0.03"), Decimal("0.07")]
