"""Amounts typed into web forms: the one strict rule, plus thousands separators where they belong."""

import html
import re
import uuid
from decimal import Decimal

import pytest

from platform_core.ledger import services as ledger
from platform_core.ledger.models import Payment

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def _field_errors(response, name):
    block = re.search(rf'name="{name}".*?(?=<div class="field|</form>)', response.content.decode(), flags=re.S)
    return [html.unescape(e) for e in re.findall(r'<span class="error">(.*?)</span>', block.group(0))] if block else []


@pytest.mark.parametrize(
    "typed, message",
    [
        ("1e9", 'Enter a valid amount, e.g. "100.00".'),
        ("1_000", 'Enter a valid amount, e.g. "100.00".'),
        ("１００", 'Enter a valid amount, e.g. "100.00".'),
        ("1,00", 'Enter a valid amount, e.g. "100.00".'),  # not a thousands group
        ("1,0000.00", 'Enter a valid amount, e.g. "100.00".'),
        ("NaN", 'Enter a valid amount, e.g. "100.00".'),
        ("-1,000", "The amount must be greater than zero."),
        ("1,000.001", "CNY amounts have at most 2 decimal places."),
    ],
)
def test_a_deposit_form_refuses_what_is_not_an_amount_beside_the_field(client, typed, message):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/wallet/deposit/", {"deposit-amount": typed, "deposit-idempotency_key": uuid.uuid4().hex})
    assert response.status_code == 400
    assert _field_errors(response, "deposit-amount") == [message]
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("typed, amount", [("1,000", "1000.00"), ("12,345.60", "12345.60"), (" 1,000,000 ", "1000000.00")])
def test_a_deposit_form_takes_thousands_separators(client, typed, amount):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/wallet/deposit/", {"deposit-amount": typed, "deposit-idempotency_key": uuid.uuid4().hex})
    assert response.status_code == 302
    assert ledger.wallet_of_user(user).balance == Decimal(amount)


def test_sign_up_takes_income_with_separators_and_refuses_an_exponent(client):
    from ..factories import resident_id

    data = {"username": "li-wei", "password": "a-long-pass-2026!", "id_number": resident_id(777), "net_worth": "0"}
    refused = client.post("/signup/investor/", {**data, "annual_income": "1e6"})
    assert refused.status_code == 200 or refused.status_code == 400
    assert _field_errors(refused, "annual_income") == ['Enter a valid amount, e.g. "100.00".']
    accepted = client.post("/signup/investor/", {**data, "annual_income": "120,000.00"})
    assert accepted.status_code == 302
    from platform_core.accounts.models import User

    assert User.objects.get(username="li-wei").investor_profile.annual_income == Decimal("120000.00")
