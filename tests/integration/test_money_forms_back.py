"""Back, then the button again: every money form moves money once.

A browser shows a page it goes Back to from its cache, by the page's address. Each money form
succeeds onto a receipt address of its own (platform_core.web.actions.money_form_done), so the page
the form was sent from stays in the history as it was, with the key already used; sending it again
is recognised and replayed. (The wallet and loan pages used to redirect to themselves: their cached
copy was replaced by a fresh page with a new key, and the deposit moved twice.) Amounts in every
money form also carry autocomplete="off", so a page fetched again instead comes back empty.
"""

import re
from decimal import Decimal

import pytest

from crowdfunding.models import Pledge
from p2p import services as p2p_services
from p2p.models import Installment, Investment, Repayment
from platform_core.ledger import services as ledger
from platform_core.ledger.models import Payment
from tests.factories import UserFactory

from ..crowdfunding.factories import live_campaign
from ..p2p.factories import funded_investors, listed_loan

pytestmark = pytest.mark.django_db


class Browser:
    """What matters of a browser here: the history, whose pages Back shows again from the cache."""

    def __init__(self, client):
        self.client = client
        self.cache: dict[str, str] = {}
        self.history: list[str] = []

    def open(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, url
        self.cache[url] = response.content.decode()
        self.history.append(url)
        return self.cache[url]

    def submit(self, page: str, form_id: str, values: dict) -> None:
        """Fill in the form `form_id` of `page` (its hidden fields as the page has them) and send it."""
        form = re.search(rf'<form [^>]*id="{form_id}"[^>]*>(.*?)</form>', page, flags=re.S)
        assert form, f"no form #{form_id}"
        action = re.search(
            rf'<form [^>]*action="([^"]+)"[^>]*id="{form_id}"|<form [^>]*id="{form_id}"[^>]*action="([^"]+)"', page
        )
        data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))
        data.pop("csrfmiddlewaretoken", None)
        data.update(values)
        response = self.client.post(next(filter(None, action.groups())), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        self.open(response["Location"])

    def back(self) -> str:
        self.history.pop()
        return self.cache[self.history[-1]]


def _amount_inputs(page: str, form_id: str) -> list[str]:
    form = re.search(rf'<form [^>]*id="{form_id}"[^>]*>(.*?)</form>', page, flags=re.S).group(1)
    return re.findall(r'<input type="text" name="[^"]*amount"[^>]*>', form)


def _wallet(client, fund):
    user = UserFactory()
    fund(user, "500.00")
    client.force_login(user)
    wallet = ledger.wallet_of_user(user)

    def state():
        wallet.refresh_from_db()
        return wallet.balance, Payment.objects.filter(wallet=wallet).count()

    return state


def _deposit(client, fund):
    state = _wallet(client, fund)
    return "/wallet/", "deposit", {"deposit-amount": "1,000.00"}, state, (Decimal("1500.00"), 2)


def _withdraw(client, fund):
    state = _wallet(client, fund)
    return "/wallet/", "withdraw", {"withdraw-amount": "100.00"}, state, (Decimal("400.00"), 2)


def _pledge(client, fund):
    campaign = live_campaign()
    backer = UserFactory()
    fund(backer, "1000.00")
    client.force_login(backer)

    def state():
        return ledger.wallet_of_user(backer).balance, Pledge.objects.filter(backer=backer).count()

    return f"/campaigns/{campaign.pk}/", "pledge", {"amount": "100.00"}, state, (Decimal("900.00"), 1)


def _invest(client, fund):
    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "5000.00")
    client.force_login(investor)

    def state():
        return ledger.wallet_of_user(investor).balance, Investment.objects.filter(investor=investor).count()

    return f"/loans/{loan.pk}/", "invest-form", {"amount": "1,000.00"}, state, (Decimal("4000.00"), 1)


def _active_loan(fund):
    loan = listed_loan()
    funded_investors(fund, loan, ["6000.00", "6000.00"])
    p2p_services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    borrower = loan.borrower.members.get()
    return loan, borrower


def _repay(client, fund):
    loan, borrower = _active_loan(fund)
    client.force_login(borrower)
    wallet = ledger.wallet_for(loan.borrower)

    def state():
        wallet.refresh_from_db()
        return wallet.balance, Repayment.objects.filter(loan=loan).count()

    return f"/loans/{loan.pk}/", "repay-amount", {"amount": "500.00"}, state, (Decimal("11260.00"), 1)


def _repay_due(client, fund):
    loan, borrower = _active_loan(fund)
    Installment.objects.filter(loan=loan, number=1).update(due_date=p2p_services.business_date())
    client.force_login(borrower)
    wallet = ledger.wallet_for(loan.borrower)

    def state():
        wallet.refresh_from_db()
        return wallet.balance, Repayment.objects.filter(loan=loan).count()

    return f"/loans/{loan.pk}/", "repay-due", {}, state, (Decimal("11760.00") - Decimal("3151.49"), 1)


def _repay_in_full(client, fund):
    loan, borrower = _active_loan(fund)
    fund(borrower, "1000.00")  # the proceeds less the fee do not cover principal and interest to date
    client.force_login(borrower)

    def state():
        loan.refresh_from_db()
        return loan.status, Repayment.objects.filter(loan=loan).count()

    return f"/loans/{loan.pk}/", "repay-full", {}, state, ("repaid", 1)


MONEY_FORMS = [_deposit, _withdraw, _pledge, _invest, _repay, _repay_due, _repay_in_full]


@pytest.mark.parametrize("money_form", MONEY_FORMS, ids=lambda f: f.__name__.strip("_"))
def test_back_and_the_button_again_moves_money_once(client, fund, money_form):
    page_url, form_id, values, state, after_once = money_form(client, fund)
    browser = Browser(client)

    page = browser.open(page_url)
    assert all('autocomplete="off"' in field for field in _amount_inputs(page, form_id))
    browser.submit(page, form_id, values)
    assert state() == after_once
    assert browser.history[-1] != page_url  # a receipt address: the form's page stays as it was

    again = browser.back()
    assert again == page  # the page as it was sent, key and all
    browser.submit(again, form_id, values)

    assert state() == after_once  # recognised: nothing moved twice
    assert "already submitted" in browser.cache[browser.history[-1]]
