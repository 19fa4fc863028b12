"""Every P2P item of the 2017 guidelines against a book small enough to work out by hand (book.py).

As of 2026-02-01 00:00 Shanghai (the January filing), business date 2026-02-01:
- L1 (B1) 3,000 in three installments; the first paid, Dec 1 (1,020) and Jan 1 (1,010) not: 2,030
  overdue, 62 days at most. Left: principal 2,000, interest 30.
- L2 (B1) 1,000; 210 paid on Jan 25 against the 510 due Jan 20 (interest 10 first, then 200
  principal): 300 overdue. Left: principal 800, interest 5.
- L3 (B2) 2,000, nothing paid: Oct 1 (1,040) is 123 days late, Nov 3 (1,020) exactly 90 days: 2,060
  overdue, of which 1,040 more than 90 days. Left: principal 2,000, interest 60.
- L4 (B3, a related party) 4,000; a guarantor paid the first installment (2,040): compensatory. The
  second falls due on the business date itself: not overdue. Left: principal 2,000, interest 20.
- L5 (B2) repaid in July; L8 (B6) written off in August: cumulative only.
- L6 (B4) 1,000 disbursed Jan 31 23:30 Shanghai: January. L7 (B5) 7,000 disbursed Feb 1 00:30
  Shanghai (still Jan 31 in UTC): February, not in this filing.
Outstanding principal 2,000 + 800 + 2,000 + 2,000 + 1,000 = 7,800; interest 125. Owed per borrower:
B1 2,800 (two loans, counted once), B2 2,000, B3 2,000, B4 1,000.
"""

import datetime
from decimal import Decimal

import pytest

from platform_core.disclosures.items import p2p_figures, period_as_of, period_of
from platform_core.disclosures.models import RelatedParty

from .book import SHANGHAI, january_book

pytestmark = pytest.mark.django_db

JANUARY = datetime.date(2026, 1, 1)


def test_p2p_items_of_january(entity):
    book = january_book(entity)
    RelatedParty.objects.create(entity=entity, organisation=book["borrowers"][2], relation="owned by the platform's chairman")

    items = p2p_figures(entity.pk, period_as_of(JANUARY))

    assert items == {
        "p2p.cumulative_loan_amount": "12500.00",  # L1-L6 and L8
        "p2p.cumulative_loan_count": 7,
        "p2p.outstanding_principal": "7800.00",
        "p2p.outstanding_count": 5,
        "p2p.outstanding_interest": "125.00",
        "p2p.cumulative_lenders": 6,  # u1, u2, u3, u4, u5 and the fund (two of its members lent: once)
        "p2p.cumulative_borrowers": 5,  # B1 with two loans counts once; B5's loan is February's
        "p2p.current_lenders": 4,  # u1, u2, u3, the fund
        "p2p.current_borrowers": 4,
        "p2p.top10_borrower_share": "1.0000",
        "p2p.largest_borrower_share": "0.3590",  # 2,800 / 7,800
        "p2p.related_party_balance": "2000.00",
        "p2p.related_party_count": 1,
        "p2p.overdue_amount": "4390.00",  # 2,030 + 300 + 2,060
        "p2p.overdue_count": 3,
        "p2p.overdue_90_amount": "1040.00",  # L3's Oct 1 installment; its Nov 3 one is exactly 90 days late
        "p2p.overdue_90_count": 1,
        "p2p.compensatory_amount": "2040.00",
        "p2p.compensatory_count": 1,
        "p2p.project_overdue_rate": "0.6000",  # 3 / 5
        "p2p.amount_overdue_rate": "0.5539",  # 4,390 / 7,925
        "p2p.fee_standards": {
            "origination_fee_rate": "0.0200",
            "investor_service_fee_rate": "0.0100",
            "penalty_daily_rate": "0.0005",
        },
    }


def test_the_month_is_the_platform_time_zones(entity):
    book = january_book(entity)
    assert period_of(book["l6"].disbursed_at) == JANUARY
    assert period_of(book["l7"].disbursed_at) == datetime.date(2026, 2, 1)
    assert period_as_of(JANUARY) == datetime.datetime(2026, 2, 1, tzinfo=SHANGHAI)

    february = p2p_figures(entity.pk, period_as_of(datetime.date(2026, 2, 1)))

    assert february["p2p.cumulative_loan_count"] == 8
    assert Decimal(february["p2p.cumulative_loan_amount"]) == Decimal("19500.00")


def test_a_day_later_the_90_day_installment_is_over_90(entity):
    january_book(entity)
    a_day_later = period_as_of(JANUARY) + datetime.timedelta(days=1)

    items = p2p_figures(entity.pk, a_day_later)

    assert items["p2p.overdue_90_amount"] == "2060.00"  # Nov 3 is now 91 days late
    assert items["p2p.overdue_90_count"] == 1
    assert items["p2p.overdue_amount"] == "6410.00"  # and L4's Feb 1 installment (2,020) is late


def test_an_empty_book_has_zeros_and_no_rates(entity):
    items = p2p_figures(entity.pk, period_as_of(JANUARY))
    assert items["p2p.outstanding_principal"] == "0.00"
    assert items["p2p.cumulative_borrowers"] == 0
    assert items["p2p.top10_borrower_share"] is None and items["p2p.amount_overdue_rate"] is None
