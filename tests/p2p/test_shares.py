"""Property tests of the share-out (p2p/shares.py): over any sequence of repayments, each note's
cumulative receipts stay within a cent of its exact pro-rata share, no share is negative, each
repayment's shares add up to exactly what it passed on, and the whole principal comes back exactly."""

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from p2p.shares import cumulative_split

CENT = Decimal("0.01")
note_principals = st.lists(
    st.one_of(
        st.integers(min_value=1, max_value=10**8).map(lambda c: Decimal(c) / 100),
        st.sampled_from([Decimal("33.33"), Decimal("100.00"), Decimal("100.01"), Decimal("5000.00")]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(weights=note_principals, increments=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=60))
def test_cumulative_shares_stay_within_a_cent_of_pro_rata_and_never_go_negative(weights, increments):
    whole = sum(weights)
    received, total = [Decimal("0.00")] * len(weights), Decimal("0.00")
    for cents in increments:
        increment = Decimal(cents) / 100
        total += increment
        shares = cumulative_split(total=total, received=received, weights=weights, unit=CENT)
        assert sum(shares) == increment
        assert all(s >= 0 and s == s.quantize(CENT) for s in shares)
        received = [r + s for r, s in zip(received, shares, strict=True)]
        for got, weight in zip(received, weights, strict=True):
            assert abs(Fraction(got) - Fraction(total) * Fraction(weight) / Fraction(whole)) < Fraction(1, 100)


@settings(max_examples=300, deadline=None)
@given(weights=note_principals, cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=40))
def test_the_whole_principal_comes_back_exactly(weights, cuts):
    """Principal repaid in any number of parts: when all of it is in, each note has exactly its own."""
    whole = sum(weights)
    points = sorted({(whole * Decimal(str(c))).quantize(CENT) for c in cuts} | {whole})
    received = [Decimal("0.00")] * len(weights)
    for total in points:
        shares = cumulative_split(total=total, received=received, weights=weights, unit=CENT)
        received = [r + s for r, s in zip(received, shares, strict=True)]
    assert received == weights


def test_a_zero_decimal_currency_shares_whole_units():
    shares = cumulative_split(total=Decimal("1000"), received=[Decimal(0)] * 3, weights=[Decimal(1)] * 3, unit=Decimal(1))
    assert shares == [Decimal(334), Decimal(333), Decimal(333)]
