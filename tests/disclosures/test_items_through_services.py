"""The P2P items against a loan that went through the real services: a partial repayment by the
borrower, then a compensatory payment by a third party; the overdue figures agree with what the
installments say is unpaid, at each step."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from p2p import services
from platform_core.accounts.services import entity_default
from platform_core.disclosures.items import business_date_of, p2p_figures
from tests.factories import UserFactory
from tests.p2p.factories import business_day, funded_investors, listed_loan

pytestmark = pytest.mark.django_db


def _unpaid_before(loan, day):
    left = loan.installments.filter(due_date__lt=day).aggregate(
        s=Sum(F("principal_due") + F("interest_due") - F("principal_paid") - F("interest_paid"))
    )["s"]
    return left or Decimal("0.00")


def test_partial_and_compensatory_payments(fund):
    loan = listed_loan()
    sme = loan.borrower.members.get()
    funded_investors(fund, loan, ["12000.00"])
    services.loan_disburse(loan_id=loan.pk)
    first, second = loan.installments.order_by("number")[:2]

    with business_day(first.due_date + datetime.timedelta(days=10)):
        services.repayment_make(user=sme, loan_id=loan.pk, amount="1000.00")
        a_second_later = timezone.now() + datetime.timedelta(seconds=1)  # the clock stands still here
        items = p2p_figures(entity_default().pk, a_second_later)
        today = business_date_of(a_second_later)
        # paid 10 days late: 10 days of penalty on 3,151.49 (15.757, charged 15.75) come first, so 984.25
        # of the 1,000.00 goes to interest and principal
        expected = first.principal_due + first.interest_due - (Decimal("1000.00") - Decimal("15.75"))
        assert Decimal(items["p2p.overdue_amount"]) == _unpaid_before(loan, today) == expected
        assert items["p2p.overdue_count"] == 1 and items["p2p.compensatory_count"] == 0

    guarantor = UserFactory()
    fund(guarantor, "20000.00")
    with business_day(second.due_date + datetime.timedelta(days=3)):
        repayment = services.guarantor_pay(user=guarantor, loan_id=loan.pk)
        items = p2p_figures(entity_default().pk, timezone.now() + datetime.timedelta(seconds=1))

    assert repayment.is_compensatory
    assert (items["p2p.compensatory_count"], items["p2p.compensatory_amount"]) == (1, str(repayment.amount))
    assert items["p2p.overdue_amount"] == "0.00" and items["p2p.overdue_count"] == 0
    loan.refresh_from_db()
    assert Decimal(items["p2p.outstanding_principal"]) == loan.principal_outstanding
