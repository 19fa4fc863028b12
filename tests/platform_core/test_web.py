"""Server-rendered pages: sign-up, log-in, the wallet with its deposit and withdrawal forms."""

import html
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connections

from platform_core.accounts.models import KycStatus, Organisation, Role, User
from platform_core.ledger import services as ledger
from platform_core.ledger.idempotency import _advisory_lock_id
from platform_core.ledger.models import Payment, PaymentStatus

from ..factories import PASSWORD, credit_code, resident_id

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "tulip-orbit-granite-47"


def _field_errors(response, name):
    """The error messages rendered inside the form field wrapper of the input called `name`."""
    page = response.content.decode()
    for block in re.findall(r'<div class="field[^"]*">(.*?)</div>', page, flags=re.S):
        if re.search(rf'name="{re.escape(name)}"', block):
            return [html.unescape(e) for e in re.findall(r'<span class="error">(.*?)</span>', block, flags=re.S)]
    raise AssertionError(f"no field {name!r} on the page")


def _hidden_key(response, prefix):
    match = re.search(rf'name="{prefix}-idempotency_key" value="([^"]+)"', response.content.decode())
    assert match, f"no hidden {prefix} key"
    return match.group(1)


def _balance_shown(response):
    return re.search(r'data-testid="balance">([^<]+)<', response.content.decode()).group(1)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- sign-up and log-in -----------------------------------------------------------------------


def test_investor_signup_page(client):
    assert client.get("/signup/investor/").status_code == 200

    response = client.post(
        "/signup/investor/",
        {
            "username": "alice",
            "email": "alice@example.com",
            "password": STRONG_PASSWORD,
            "id_number": resident_id(7),
            "annual_income": "80000",
            "net_worth": "150000",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/wallet/"
    user = User.objects.get(username="alice")
    assert user.role == Role.INVESTOR
    assert user.kyc_status == KycStatus.VERIFIED
    assert user.investor_profile.annual_income == Decimal("80000.00")
    assert _messages(response) == ["Welcome, alice. Your KYC status: verified."]
    wallet_page = client.get("/wallet/")  # logged in
    assert wallet_page.status_code == 200
    assert _balance_shown(wallet_page) == "0.00 CNY"


def test_investor_signup_with_malformed_id_number_shows_the_error_beside_it(client):
    response = client.post(
        "/signup/investor/",
        {
            "username": "alice",
            "password": STRONG_PASSWORD,
            "id_number": "110105194912310021",
            "annual_income": "0",
            "net_worth": "0",
        },
    )

    assert response.status_code == 200
    assert _field_errors(response, "id_number") == ["Enter a valid 18-character resident identity number."]
    assert _field_errors(response, "username") == []
    assert User.objects.count() == 0


def test_sme_signup_page(client):
    response = client.post(
        "/signup/sme/",
        {
            "username": "acme",
            "password": STRONG_PASSWORD,
            "legal_name": "Acme Trading Co., Ltd.",
            "credit_code": credit_code(4242),
            "kind": "sme",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="acme")
    assert user.role == Role.SME
    assert user.organisation.credit_code == credit_code(4242)
    assert user.organisation.kyc_status == KycStatus.VERIFIED


def test_sme_signup_with_malformed_credit_code_shows_the_error_beside_it(client):
    bad = credit_code(4242)[:17] + ("0" if credit_code(4242)[17] != "0" else "1")
    response = client.post(
        "/signup/sme/",
        {
            "username": "acme",
            "password": STRONG_PASSWORD,
            "legal_name": "Acme Trading Co., Ltd.",
            "credit_code": bad,
            "kind": "sme",
        },
    )

    assert response.status_code == 200
    errors = _field_errors(response, "credit_code")
    assert len(errors) == 1 and "unified social credit code" in errors[0]
    assert _field_errors(response, "legal_name") == []
    assert User.objects.count() == 0
    assert Organisation.objects.count() == 0


def test_log_in(client, investor):
    assert client.get("/login/").status_code == 200

    response = client.post("/login/", {"username": investor.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(investor.pk)


def test_log_in_with_wrong_password(client, investor):
    response = client.post("/login/", {"username": investor.username, "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("method, path", [("get", "/wallet/"), ("post", "/wallet/deposit/"), ("post", "/wallet/withdraw/")])
def test_anonymous_users_are_sent_to_log_in(client, method, path):
    form = {"deposit-amount": "10.00", "deposit-idempotency_key": "k"} if method == "post" else None
    response = getattr(client, method)(path, form)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"
    assert Payment.objects.count() == 0


# --- wallet -----------------------------------------------------------------------------------


def test_wallet_page_shows_the_balance(client, investor, fund):
    fund(investor, "1234.50")
    client.force_login(investor)

    response = client.get("/wallet/")

    assert response.status_code == 200
    assert _balance_shown(response) == "1,234.50 CNY"
    assert "+1,234.50" in response.content.decode()  # the deposit entry, formatted like the balance


def test_deposit_form_moves_money(client, investor):
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "deposit")

    response = client.post("/wallet/deposit/", {"deposit-amount": "250.00", "deposit-idempotency_key": key}, follow=True)

    assert _receipt_chain(response) == [("/wallet/", 302)]
    assert _balance_shown(response) == "250.00 CNY"
    assert ledger.wallet_of_user(investor).balance == Decimal("250.00")
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert "Deposit of 250.00: succeeded." in response.content.decode()


def test_posting_the_same_form_twice_moves_money_once(client, investor):
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "deposit")
    form = {"deposit-amount": "250.00", "deposit-idempotency_key": key}

    first = client.post("/wallet/deposit/", form, follow=True)
    second = client.post("/wallet/deposit/", form)

    assert _receipt_chain(first) == [("/wallet/", 302)]
    assert second.status_code == 302
    assert _messages(second) == ["Deposit of 250.00: succeeded (this form was already submitted; nothing was moved twice)."]
    assert Payment.objects.count() == 1
    assert ledger.wallet_of_user(investor).balance == Decimal("250.00")


def test_each_rendering_of_the_wallet_has_a_new_key(client, investor):
    client.force_login(investor)
    assert _hidden_key(client.get("/wallet/"), "deposit") != _hidden_key(client.get("/wallet/"), "deposit")


def test_over_precise_amount_shows_an_error_beside_the_field(client, investor):
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "deposit")

    response = client.post("/wallet/deposit/", {"deposit-amount": "10.001", "deposit-idempotency_key": key})

    assert response.status_code == 400
    assert _field_errors(response, "deposit-amount") == ["CNY amounts have at most 2 decimal places."]
    assert _field_errors(response, "withdraw-amount") == []
    assert Payment.objects.count() == 0
    assert ledger.wallet_of_user(investor).balance == Decimal("0.00")


def test_the_amount_can_be_corrected_after_an_error(client, investor):
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "deposit")
    refused = client.post("/wallet/deposit/", {"deposit-amount": "10.001", "deposit-idempotency_key": key})
    assert refused.status_code == 400

    # the user fixes the amount in the form they were shown and submits it
    corrected = client.post(
        "/wallet/deposit/", {"deposit-amount": "10.00", "deposit-idempotency_key": _hidden_key(refused, "deposit")}
    )

    assert corrected.status_code == 302, _field_errors(corrected, "deposit-amount")
    assert ledger.wallet_of_user(investor).balance == Decimal("10.00")
    assert Payment.objects.count() == 1


def test_a_form_still_being_processed_keeps_its_key(client, investor):
    # A double click whose first request is still running: the page shown for the second one must keep the key,
    # so submitting it again replays the first request instead of moving the money a second time.
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "deposit")
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_advisory_lock_id(investor.pk, key)])
        busy = client.post("/wallet/deposit/", {"deposit-amount": "10.00", "deposit-idempotency_key": key})
    finally:
        holder.close()

    assert busy.status_code == 400
    assert "still being processed" in busy.content.decode()
    assert _hidden_key(busy, "deposit") == key
    assert Payment.objects.count() == 0


def test_withdrawal_above_the_balance_shows_an_error_beside_the_field(client, investor, fund):
    fund(investor, "20.00")
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "withdraw")

    response = client.post("/wallet/withdraw/", {"withdraw-amount": "20.01", "withdraw-idempotency_key": key})

    assert response.status_code == 400
    errors = _field_errors(response, "withdraw-amount")
    assert len(errors) == 1 and errors[0].startswith("Insufficient funds")
    assert ledger.wallet_of_user(investor).balance == Decimal("20.00")
    assert Payment.objects.count() == 1  # only the deposit


def test_withdraw_form_moves_money(client, investor, fund):
    fund(investor, "20.00")
    client.force_login(investor)
    key = _hidden_key(client.get("/wallet/"), "withdraw")

    response = client.post("/wallet/withdraw/", {"withdraw-amount": "7.50", "withdraw-idempotency_key": key})

    assert response.status_code == 302
    assert _messages(response) == ["Withdrawal of 7.50: succeeded."]
    assert ledger.wallet_of_user(investor).balance == Decimal("12.50")


def test_staff_are_sent_home_from_the_wallet(client, regulator):
    client.force_login(regulator)
    response = client.get("/wallet/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _messages(response) == ["Regulators and operators hold no wallet."]


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_staff_posting_to_the_wallet_is_turned_away_not_a_500(client, role):
    from tests.factories import StaffUserFactory

    client.force_login(StaffUserFactory(role=role))
    response = client.post("/wallet/deposit/", {"deposit-amount": "10.00", "deposit-idempotency_key": "k1"})
    assert response.status_code == 302 and response["Location"] == "/"


def _receipt_path(response):
    """Where a money form went: its receipt address (the page's path, with the form's key as receipt)."""
    path, _, query = response["Location"].partition("?")
    assert query.startswith("receipt="), response["Location"]
    return path


def _receipt_chain(response):
    assert all("?receipt=" in url for url, _ in response.redirect_chain), response.redirect_chain
    return [(url.partition("?")[0], status) for url, status in response.redirect_chain]
