"""The platform API: sign-up, token, me, wallet; one error shape everywhere; bad amounts refused
with their stable code before any money moves; staff hold no wallet; the docs work offline."""

import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.crypto import hash_token
from knox.models import AuthToken

from platform_core.accounts.models import InvestorProfile, KycStatus, MemberRole, Organisation, Role, User
from platform_core.ledger import services as ledger
from platform_core.ledger.models import Payment

from ..factories import PASSWORD, UserFactory, credit_code, resident_id
from .api_helpers import assert_error

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"
WALLET = "/api/v1/wallet/"
DEPOSITS = "/api/v1/wallet/deposits/"
WITHDRAWALS = "/api/v1/wallet/withdrawals/"
STRONG_PASSWORD = "tulip-orbit-granite-47"


def _investor_signup(**overrides):
    return {
        "kind": "investor",
        "username": "alice",
        "email": "alice@example.com",
        "password": STRONG_PASSWORD,
        "id_number": resident_id(7),
        **overrides,
    }


def _sme_signup(**overrides):
    return {
        "kind": "sme",
        "username": "acme",
        "email": "cfo@acme.example",
        "password": STRONG_PASSWORD,
        "legal_name": "Acme Trading Co., Ltd.",
        "credit_code": credit_code(4242),
        **overrides,
    }


def _deposit(client, body, key=None):
    return client.post(DEPOSITS, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


# --- sign-up ----------------------------------------------------------------------------------


def test_investor_signup(api):
    response = api.post(SIGNUP, _investor_signup(annual_income="90000.00", net_worth="250000.00"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    user = User.objects.get(username="alice")
    assert body["id"] == user.pk
    assert body["role"] == Role.INVESTOR
    assert body["kyc_status"] == KycStatus.VERIFIED
    assert body["organisation"] is None
    assert body["investor_profile"] == {"annual_income": "90000.00", "net_worth": "250000.00", "accredited": False}
    assert "password" not in body
    assert AuthToken.objects.get(user=user).digest == hash_token(body["token"])  # only the hash is stored
    assert user.kyc_status == KycStatus.VERIFIED
    assert user.check_password(STRONG_PASSWORD)
    assert InvestorProfile.objects.get(user=user).net_worth == Decimal("250000.00")

    me = api.get(ME, HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


def test_investor_signup_upper_cases_the_check_character(api):
    response = api.post(SIGNUP, _investor_signup(id_number="11010519491231002x"), format="json")
    assert response.status_code == 201
    assert User.objects.get(username="alice").id_number == "11010519491231002X"


def test_sme_signup(api):
    response = api.post(SIGNUP, _sme_signup(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    organisation = Organisation.objects.get(credit_code=credit_code(4242))
    assert body["role"] == Role.SME
    assert body["member_role"] == MemberRole.OWNER
    assert body["organisation"] == {
        "id": organisation.pk,
        "legal_name": "Acme Trading Co., Ltd.",
        "credit_code": credit_code(4242),
        "kind": "sme",
        "kyc_status": KycStatus.VERIFIED,
    }
    assert body["token"]
    assert User.objects.get(username="acme").organisation == organisation


@pytest.mark.parametrize(
    "code",
    [
        credit_code(4242)[:17] + ("0" if credit_code(4242)[17] != "0" else "1"),  # wrong check digit
        credit_code(4242)[:17],  # too short
        "91350100I000100Y43",  # I is not in the charset
        "",
    ],
)
def test_sme_signup_with_malformed_credit_code(api, code):
    response = api.post(SIGNUP, _sme_signup(credit_code=code), format="json")

    assert_error(response, 400, "invalid_credit_code", field="credit_code")
    assert not User.objects.filter(username="acme").exists()
    assert Organisation.objects.count() == 0


def test_sme_signup_with_overlong_credit_code_names_the_field(api):
    response = api.post(SIGNUP, _sme_signup(credit_code=credit_code(4242) + "0"), format="json")
    assert_error(response, 400, "invalid_credit_code", field="credit_code")
    assert Organisation.objects.count() == 0


def test_sme_signup_with_taken_credit_code(api, sme_org):
    response = api.post(SIGNUP, _sme_signup(credit_code=sme_org.credit_code), format="json")
    assert_error(response, 400, "credit_code_taken", field="credit_code")
    assert Organisation.objects.count() == 1


@pytest.mark.parametrize("id_number", ["110105194912310021", "1101051949123100", ""])
def test_investor_signup_with_malformed_id_number(api, id_number):
    response = api.post(SIGNUP, _investor_signup(id_number=id_number), format="json")
    assert_error(response, 400, "invalid_id_number", field="id_number")
    assert not User.objects.filter(username="alice").exists()


@pytest.mark.parametrize("username", ["alice", "ALICE"])
def test_duplicate_username(api, username):
    assert api.post(SIGNUP, _investor_signup(), format="json").status_code == 201
    response = api.post(SIGNUP, _investor_signup(username=username, id_number=resident_id(8)), format="json")
    assert_error(response, 400, "username_taken", field="username")
    assert User.objects.count() == 1


def test_weak_password_is_refused(api):
    response = api.post(SIGNUP, _investor_signup(password="12345678"), format="json")
    assert_error(response, 400, "invalid_password", field="password")
    assert User.objects.count() == 0


def test_signup_of_an_unknown_kind_is_refused(api):
    response = api.post(SIGNUP, _investor_signup(kind="regulator"), format="json")
    assert_error(response, 400, "invalid", field="kind")
    assert User.objects.count() == 0


# --- token and me -----------------------------------------------------------------------------


def test_token_for_good_credentials(api, investor):
    response = api.post(TOKEN, {"username": investor.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    stored = AuthToken.objects.get(user=investor)
    assert stored.digest == hash_token(body["token"]) and body["token"] not in (stored.digest, stored.token_key)
    assert api.get(ME, HTTP_AUTHORIZATION=f"Token {body['token']}").json()["username"] == investor.username
    # asking again gives a second token; both work until they expire
    again = api.post(TOKEN, {"username": investor.username, "password": PASSWORD}, format="json").json()
    assert again["token"] != body["token"]
    assert api.get(ME, HTTP_AUTHORIZATION=f"Token {body['token']}").status_code == 200


@pytest.mark.parametrize("username, password", [("investor-x", "wrong"), ("nobody", PASSWORD)])
def test_token_for_bad_credentials(api, username, password):
    UserFactory(username="investor-x")
    response = api.post(TOKEN, {"username": username, "password": password}, format="json")
    assert_error(response, 400, "invalid_credentials")
    assert AuthToken.objects.count() == 0


def test_token_without_password_names_the_field(api):
    assert_error(api.post(TOKEN, {"username": "x"}, format="json"), 400, "invalid", field="password")


def test_me(api_as, sme_user):
    body = api_as(sme_user).get(ME).json()
    assert body["username"] == sme_user.username
    assert body["role"] == Role.SME
    assert body["organisation"]["credit_code"] == sme_user.organisation.credit_code
    assert body["investor_profile"] is None


# --- wallet -----------------------------------------------------------------------------------


def test_wallet_shows_balance_and_entries(api_as, investor, fund):
    fund(investor, "100.00")
    ledger.withdrawal_create(user=investor, amount="40.00")

    response = api_as(investor).get(WALLET)

    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "CNY"
    assert body["balance"] == "60.00"
    assert [(e["kind"], e["amount"]) for e in body["entries"]] == [("withdrawal_reserve", "-40.00"), ("deposit", "100.00")]


def test_empty_wallet(api_as, investor):
    assert api_as(investor).get(WALLET).json() == {"currency": "CNY", "balance": "0.00", "entries": []}


def test_a_user_sees_only_their_own_wallet(api_as, investor, fund):
    other = UserFactory()
    fund(investor, "11.00")
    fund(other, "22.00")
    fund(other, "33.00")

    mine = api_as(investor).get(WALLET).json()
    theirs = api_as(other).get(WALLET).json()

    assert mine["balance"] == "11.00"
    assert [e["amount"] for e in mine["entries"]] == ["11.00"]
    assert theirs["balance"] == "55.00"
    assert [e["amount"] for e in theirs["entries"]] == ["33.00", "22.00"]
    assert not {e["id"] for e in mine["entries"]} & {e["id"] for e in theirs["entries"]}


def test_wallet_query_count_does_not_grow_with_entries(api_as, investor, fund, django_assert_num_queries):
    client = api_as(investor)
    fund(investor, "1.00")
    with CaptureQueriesContext(connection) as one_entry:
        client.get(WALLET)
    for _ in range(9):
        fund(investor, "1.00")
    with django_assert_num_queries(2):  # the wallet, its entries with their transactions
        body = client.get(WALLET).json()
    assert len(body["entries"]) == 10
    assert len(one_entry.captured_queries) == 2


def test_unknown_currency_on_the_wallet(api_as, investor):
    assert_error(api_as(investor).get(WALLET, {"currency": "XYZ"}), 400, "unknown_currency", field="currency")


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_staff_have_no_wallet(api_as, role, request):
    staff = request.getfixturevalue(role)
    assert_error(api_as(staff).get(WALLET), 403, "permission_denied")
    assert_error(_deposit(api_as(staff), {"amount": "10.00"}), 403, "permission_denied")
    assert Payment.objects.count() == 0


def test_sme_viewer_sees_the_wallet_but_cannot_move_money(api_as, sme_org, sme_viewer):
    from ..factories import SmeUserFactory

    ledger.deposit_create(user=SmeUserFactory(organisation=sme_org), amount="70.00")
    client = api_as(sme_viewer)

    assert client.get(WALLET).json()["balance"] == "70.00"
    assert_error(client.post(WITHDRAWALS, {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="w"), 403, "permission_denied")
    assert Payment.objects.count() == 1


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("get", ME), ("get", WALLET), ("post", DEPOSITS), ("post", WITHDRAWALS)])
def test_unauthenticated_requests_are_refused_in_the_error_shape(api, method, path):
    response = getattr(api, method)(
        path, {"amount": "10.00"} if method == "post" else None, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_error(response, 401, "not_authenticated")
    assert Payment.objects.count() == 0


def test_bad_token_is_refused_in_the_error_shape(api):
    response = api.get(ME, HTTP_AUTHORIZATION="Token not-a-token")
    assert_error(response, 401, "authentication_failed")


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"amount": "-5"}, "amount_not_positive", "amount"),
        ({"amount": "0"}, "amount_not_positive", "amount"),
        ({"amount": "0.001"}, "amount_too_precise", "amount"),
        ({"amount": "abc"}, "invalid_amount", "amount"),
        ({"amount": "NaN"}, "invalid_amount", "amount"),
        ({"amount": "1e30"}, "invalid_amount", "amount"),  # no exponent
        ({"amount": "1e3"}, "invalid_amount", "amount"),
        ({"amount": "1_000"}, "invalid_amount", "amount"),
        ({"amount": "１００"}, "invalid_amount", "amount"),  # full-width digits
        ({"amount": "1,000"}, "invalid_amount", "amount"),  # thousands separators: web forms only
        ({"amount": "10000000000"}, "amount_too_large", "amount"),
        ({"amount": 1e30}, "invalid_amount", "amount"),  # JSON numbers: strings only
        ({"amount": 0.1 + 0.2}, "invalid_amount", "amount"),
        ({"amount": 100}, "invalid_amount", "amount"),
        ({"amount": "10.00", "currency": "XYZ"}, "unknown_currency", "currency"),
        ({"amount": True}, "invalid_amount", "amount"),
        ({"amount": None}, "invalid", "amount"),
        ({"amount": ["10.00"]}, "invalid_amount", "amount"),
        ({}, "invalid", "amount"),
        ({"amount": "1" * 41}, "invalid", "amount"),
    ],
)
@pytest.mark.parametrize("path", [DEPOSITS, WITHDRAWALS])
def test_bad_amounts_are_refused_with_their_code_and_nothing_moves(api_as, investor, fund, path, body, code, field):
    fund(investor, "100.00")
    payments = Payment.objects.count()

    response = api_as(investor).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))

    assert_error(response, 400, code, field=field)
    assert Payment.objects.count() == payments
    assert ledger.wallet_of_user(investor).balance == Decimal("100.00")


@pytest.mark.parametrize("number", ["12.5", "12", "1.5e1"])
def test_a_json_number_is_refused_as_an_amount_and_its_string_accepted(api_as, investor, number):
    # JSON numbers are binary floats to most clients: amounts travel as strings only.
    client = api_as(investor)
    response = client.post(DEPOSITS, f'{{"amount": {number}}}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(response, 400, "invalid_amount")
    assert response.json()["error"]["fields"] == {"amount": ['Send amounts as decimal strings, e.g. "100.00".']}
    assert ledger.wallet_of_user(investor).balance == Decimal("0.00")
    response = _deposit(client, {"amount": "12.50"})
    assert response.status_code == 201
    assert ledger.wallet_of_user(investor).balance == Decimal("12.50")


# --- schema and docs --------------------------------------------------------------------------


def test_schema_is_an_openapi_document(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "SME finance platform API"
    for path in ("/api/v1/auth/signup/", "/api/v1/auth/token/", "/api/v1/me/", "/api/v1/wallet/", DEPOSITS, WITHDRAWALS):
        assert path in schema["paths"], path
    deposit_params = {p["name"]: p for p in schema["paths"][DEPOSITS]["post"]["parameters"]}
    assert deposit_params["Idempotency-Key"]["in"] == "header"
    assert deposit_params["Idempotency-Key"]["required"] is True


def test_docs_use_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith(".css") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
    assert not re.search(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", html)
