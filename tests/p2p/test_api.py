"""The P2P API as its users call it: SMEs list loans, operators grade them, investors fund them,
borrowers (and guarantors) repay them; every refusal is a stable code in one error shape."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from p2p import services
from p2p.models import Installment, InstallmentStatus, Investment, Loan, LoanStatus, Note, Repayment, RepaymentShare
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import Transaction
from tests.factories import OrganisationFactory, SmeUserFactory, StaffUserFactory, UserFactory

from .factories import business_day, listed_loan

pytestmark = pytest.mark.django_db

LOANS = "/api/v1/loans/"
SCHEDULE_A = [  # DOMAIN.md section 3, reference schedule A: 12,000 at 24%/year = 2%/month, 4 months
    ("2911.49", "240.00"),
    ("2969.72", "181.77"),
    ("3029.11", "122.38"),
    ("3089.68", "61.79"),
]


def _key():
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def _error(response):
    """(status, code) of an error response, after checking it has the one error shape."""
    body = response.json()
    assert list(body) == ["error"] and sorted(body["error"]) == ["code", "fields", "message"], body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return response.status_code, body["error"]["code"]


def _loan_body(**overrides):
    body = {
        "amount": "12000.00",
        "term_months": 4,
        "annual_rate_percent": "24",
        "method": "equal_installments",
        "purpose": "Working capital for the spring harvest",
    }
    body.update(overrides)
    return body


def _invest(client, loan_id, amount, **headers):
    return client.post(f"{LOANS}{loan_id}/investments/", {"amount": amount}, format="json", **(headers or _key()))


def _active_loan(api_as, fund, amounts=("8000.00", "4000.00")):
    """Schedule A's loan, funded through the API by one investor per amount, then disbursed."""
    loan = listed_loan()
    investors = []
    for amount in amounts:
        investor = UserFactory()
        fund(investor, amount)
        assert _invest(api_as(investor), loan.pk, amount).status_code == 201
        investors.append(investor)
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.FUNDED
    services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    return loan, investors


def _due_today(loan, number=1, days_ago=0):
    Installment.objects.filter(loan=loan, number=number).update(
        due_date=services.business_date() - datetime.timedelta(days=days_ago)
    )


def _money_state(loan, *parties):
    loan.refresh_from_db()
    return (
        loan.status,
        loan.funded_amount,
        loan.investor_count,
        loan.principal_outstanding,
        Investment.objects.filter(loan=loan).count(),
        Repayment.objects.filter(loan=loan).count(),
        ledger.escrow_for(loan).balance,
        tuple(ledger.wallet_of_user(p).balance for p in parties),
        tuple(
            Installment.objects.filter(loan=loan)
            .order_by("number")
            .values_list("principal_due", "interest_due", "principal_paid", "interest_paid", "status")
        ),
    )


# --- listing: draft, edit, submit, review -----------------------------------------------------


def test_sme_creates_edits_and_submits_a_draft(api_as):
    sme = SmeUserFactory()
    response = api_as(sme).post(LOANS, _loan_body(), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["status"], created["amount"], created["term_months"], created["annual_rate_percent"], created["method"]) == (
        "draft",
        "12000.00",
        4,
        "24.0000",
        "equal_installments",
    )
    assert created["borrower"] == sme.organisation.legal_name and created["grade"] == ""
    loan_id = created["id"]
    edited = api_as(sme).patch(f"{LOANS}{loan_id}/", {"amount": "15000.00", "annual_rate_percent": "22.5"}, format="json")
    assert edited.status_code == 200, edited.json()
    assert [edited.json()[f] for f in ("amount", "annual_rate_percent", "term_months")] == ["15000.00", "22.5000", 4]
    assert Loan.objects.get(pk=loan_id).annual_rate == Decimal("0.225000")
    assert _error(api_as(sme).patch(f"{LOANS}{loan_id}/", {"term_months": 40}, format="json")) == (400, "invalid_term")
    submitted = api_as(sme).post(f"{LOANS}{loan_id}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "in_review"
    assert _error(api_as(sme).patch(f"{LOANS}{loan_id}/", {"amount": "1000.00"}, format="json")) == (409, "not_editable")
    assert _error(api_as(sme).post(f"{LOANS}{loan_id}/submit/")) == (409, "invalid_transition")
    assert Loan.objects.get(pk=loan_id).amount == Decimal("15000.00")


def test_another_sme_gets_404_for_a_draft(api_as, api):
    owner, other = SmeUserFactory(), SmeUserFactory()
    loan_id = api_as(owner).post(LOANS, _loan_body(), format="json").json()["id"]
    for client in (api_as(other), api_as(UserFactory()), api):
        assert _error(client.get(f"{LOANS}{loan_id}/")) == (404, "not_found")
        assert loan_id not in [row["id"] for row in client.get(LOANS).json()["results"]]
    assert _error(api_as(other).patch(f"{LOANS}{loan_id}/", {"purpose": "Mine now"}, format="json")) == (404, "not_found")
    assert _error(api_as(other).post(f"{LOANS}{loan_id}/submit/")) == (404, "not_found")
    assert _error(api.patch(f"{LOANS}{loan_id}/", {"purpose": "Mine now"}, format="json")) == (401, "not_authenticated")
    loan = Loan.objects.get(pk=loan_id)
    assert (loan.status, loan.purpose) == (LoanStatus.DRAFT, "Working capital for the spring harvest")
    assert api_as(owner).get(f"{LOANS}{loan_id}/").json()["status"] == "draft"
    # a viewer of the borrowing organisation sees the draft but may not change it
    viewer = SmeUserFactory(organisation=owner.organisation, member_role="viewer")
    assert api_as(viewer).get(f"{LOANS}{loan_id}/").status_code == 200
    assert _error(api_as(viewer).patch(f"{LOANS}{loan_id}/", {"purpose": "x"}, format="json")) == (403, "permission_denied")


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": "abc"}, "invalid_amount", "amount"),
        ({"amount": "-12000"}, "amount_not_positive", "amount"),
        ({"amount": "12000.001"}, "amount_too_precise", "amount"),
        ({"amount": "500.00"}, "amount_too_small", "amount"),
        ({"term_months": 40}, "invalid_term", "term_months"),
        ({"term_months": 4.5}, "invalid_term", "term_months"),
        ({"term_months": "four"}, "invalid_term", "term_months"),
        ({"annual_rate_percent": "40"}, "invalid_rate", "annual_rate_percent"),
        ({"annual_rate_percent": "12.34567"}, "invalid_rate", "annual_rate_percent"),
        ({"annual_rate_percent": "lots"}, "invalid_rate", "annual_rate_percent"),
        ({"annual_rate_percent": "1e1"}, "invalid_rate", "annual_rate_percent"),
        ({"annual_rate_percent": "１２"}, "invalid_rate", "annual_rate_percent"),
        ({"annual_rate_percent": "1_2"}, "invalid_rate", "annual_rate_percent"),
        ({"method": "balloon"}, "invalid_method", "method"),
        ({"purpose": "   "}, "invalid_purpose", "purpose"),
        ({"purpose": "x" * 301}, "invalid", "purpose"),
        ({"amount": None}, "invalid", "amount"),
        ({"amount": True}, "invalid_amount", "amount"),
        ({"amount": 12000}, "invalid_amount", "amount"),
    ],
)
def test_bad_loan_input_is_refused_with_a_stable_code(api_as, overrides, code, field):
    response = api_as(SmeUserFactory()).post(LOANS, _loan_body(**overrides), format="json")
    assert _error(response) == (400, code)
    assert field in response.json()["error"]["fields"]
    assert Loan.objects.count() == 0


def test_only_sme_owners_and_finance_members_apply(api_as, api):
    for user in (UserFactory(), StaffUserFactory(role="operator"), SmeUserFactory(member_role="viewer")):
        assert _error(api_as(user).post(LOANS, _loan_body(), format="json")) == (403, "permission_denied")
    assert _error(api.post(LOANS, _loan_body(), format="json")) == (401, "not_authenticated")
    broken = api_as(SmeUserFactory()).post(LOANS, '{"amount": NaN}', content_type="application/json")
    assert _error(broken) == (400, "parse_error")
    # a JSON number too large for a float parses as inf, is passed on as the text "inf" and refused
    overflow = '{"amount": 1e400, "term_months": 4, "annual_rate_percent": "24", "method": "interest_only", "purpose": "Stock"}'
    assert _error(api_as(SmeUserFactory()).post(LOANS, overflow, content_type="application/json")) == (400, "invalid_amount")
    assert Loan.objects.count() == 0


def test_approve_and_reject_are_for_operators_only(api_as):
    sme, operator, regulator = SmeUserFactory(), StaffUserFactory(role="operator"), StaffUserFactory(role="regulator")
    loan_id = api_as(sme).post(LOANS, _loan_body(), format="json").json()["id"]  # 24% a year: grade E only
    api_as(sme).post(f"{LOANS}{loan_id}/submit/")
    approve, reject = f"{LOANS}{loan_id}/approve/", f"{LOANS}{loan_id}/reject/"
    for user in (sme, regulator, UserFactory()):
        assert _error(api_as(user).post(approve, {"grade": "E"}, format="json")) == (403, "permission_denied")
        assert _error(api_as(user).post(reject, {"reason": "No"}, format="json")) == (403, "permission_denied")
    refused = api_as(operator).post(approve, {"grade": "A"}, format="json")
    assert _error(refused) == (400, "rate_outside_grade_band") and "grade" in refused.json()["error"]["fields"]
    assert _error(api_as(operator).post(approve, {"grade": "Z"}, format="json")) == (400, "invalid_grade")
    assert _error(api_as(operator).post(approve, {}, format="json")) == (400, "invalid")
    assert _error(api_as(operator).post(reject, {"reason": "  "}, format="json")) == (400, "reason_required")
    assert Loan.objects.get(pk=loan_id).status == LoanStatus.IN_REVIEW
    listed = api_as(operator).post(approve, {"grade": "E"}, format="json")
    assert listed.status_code == 200, listed.json()
    assert (listed.json()["status"], listed.json()["grade"]) == ("listed", "E") and listed.json()["funding_deadline"]
    assert _error(api_as(operator).post(approve, {"grade": "E"}, format="json")) == (409, "invalid_transition")
    assert _error(api_as(operator).post(reject, {"reason": "Too late"}, format="json")) == (409, "invalid_transition")


def test_operator_rejects_with_a_reason(api_as):
    sme, operator = SmeUserFactory(), StaffUserFactory(role="operator")
    loan_id = api_as(sme).post(LOANS, _loan_body(), format="json").json()["id"]
    api_as(sme).post(f"{LOANS}{loan_id}/submit/")
    reason = "Cash flow does not cover the installments"
    rejected = api_as(operator).post(f"{LOANS}{loan_id}/reject/", {"reason": reason}, format="json")
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == ("rejected", reason)
    assert api_as(sme).get(f"{LOANS}{loan_id}/").json()["status"] == "rejected"
    assert _error(api_as(sme).patch(f"{LOANS}{loan_id}/", {"amount": "9000.00"}, format="json")) == (409, "not_editable")


# --- investments ------------------------------------------------------------------------------


def test_investment_replay_returns_the_same_body_and_moves_money_once(api_as, fund):
    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "5000.00")
    headers = _key()
    first = _invest(api_as(investor), loan.pk, "1000.00", **headers)
    again = _invest(api_as(investor), loan.pk, "1000.00", **headers)
    assert first.status_code == again.status_code == 201, first.json()
    assert first.json() == again.json() == {"id": first.json()["id"], "loan": loan.pk, "amount": "1000.00", "status": "active"}
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert ledger.wallet_of_user(investor).balance == Decimal("4000.00")
    assert ledger.escrow_for(loan).balance == Decimal("1000.00")
    assert Transaction.objects.filter(kind="p2p_investment").count() == 1
    loan.refresh_from_db()
    assert (loan.funded_amount, loan.investor_count, loan.investments.count()) == (Decimal("1000.00"), 1, 1)
    # the same key for another request is refused; a new key is a new investment
    assert _error(_invest(api_as(investor), loan.pk, "2000.00", **headers)) == (422, "idempotency_key_reused")
    assert _invest(api_as(investor), loan.pk, "1000.00").status_code == 201
    loan.refresh_from_db()
    assert (loan.funded_amount, loan.investor_count, loan.investments.count()) == (Decimal("2000.00"), 1, 2)
    assert ledger_problems() == []


def test_investment_without_idempotency_key_is_refused(api_as, fund):
    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "5000.00")
    response = api_as(investor).post(f"{LOANS}{loan.pk}/investments/", {"amount": "1000.00"}, format="json")
    assert _error(response) == (400, "idempotency_key_required")
    too_long = _invest(api_as(investor), loan.pk, "1000.00", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert _error(too_long) == (400, "idempotency_key_invalid")
    assert ledger.wallet_of_user(investor).balance == Decimal("5000.00") and not loan.investments.exists()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("abc", (400, "invalid_amount")),
        ("NaN", (400, "invalid_amount")),
        ("Infinity", (400, "invalid_amount")),
        ("0", (400, "amount_not_positive")),
        ("-100.00", (400, "amount_not_positive")),
        ("100.001", (400, "amount_too_precise")),
        (0.1 + 0.2, (400, "invalid_amount")),  # JSON numbers: amounts are strings only
        ("1e30", (400, "invalid_amount")),  # no exponent
        ("1_000", (400, "invalid_amount")),
        ("１０００", (400, "invalid_amount")),  # full-width digits
        ("10000000000", (400, "amount_too_large")),
        ("50.00", (400, "below_minimum_investment")),
        (12.5, (400, "invalid_amount")),
        (1000, (400, "invalid_amount")),
        ("12000.01", (409, "over_funding")),
        ("6000.00", (400, "insufficient_funds")),  # the wallet holds 5,000
        (None, (400, "invalid")),
        (True, (400, "invalid_amount")),
        ("1" * 41, (400, "invalid")),
    ],
)
def test_bad_investments_change_nothing(api_as, fund, amount, expected):
    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "5000.00")
    before = _money_state(loan, investor)
    assert _error(_invest(api_as(investor), loan.pk, amount)) == expected
    assert _money_state(loan, investor) == before
    assert before[1:3] == (Decimal("0.00"), 0) and before[-2] == (Decimal("5000.00"),)


def test_investment_refusals_by_who_and_when(api_as, fund):
    loan = listed_loan()
    investor, regulator = UserFactory(), StaffUserFactory(role="regulator")
    fund(investor, "5000.00")
    assert _error(_invest(api_as(regulator), loan.pk, "100.00")) == (403, "permission_denied")
    assert _error(_invest(api_as(UserFactory(kyc_status="pending")), loan.pk, "100.00")) == (403, "kyc_not_verified")
    borrower_member = SmeUserFactory(organisation=loan.borrower)
    fund(borrower_member, "1000.00")
    assert _error(_invest(api_as(borrower_member), loan.pk, "100.00")) == (400, "own_loan")
    draft = api_as(SmeUserFactory()).post(LOANS, _loan_body(), format="json").json()["id"]
    assert _error(_invest(api_as(investor), draft, "100.00")) == (404, "not_found")  # a draft is not revealed
    assert _error(_invest(api_as(investor), 999999, "100.00")) == (404, "not_found")
    assert not Investment.objects.exists() and ledger.wallet_of_user(investor).balance == Decimal("5000.00")


# --- schedule ---------------------------------------------------------------------------------


def test_schedule_after_disbursement_is_reference_schedule_a(api_as, api, fund):
    loan, investors = _active_loan(api_as, fund)
    url = f"{LOANS}{loan.pk}/schedule/"
    viewers = [loan.created_by, *investors, StaffUserFactory(role="operator"), StaffUserFactory(role="regulator")]
    for user in viewers:
        response = api_as(user).get(url)
        assert response.status_code == 200, (user.role, response.json())
        rows = response.json()
        assert [(r["principal_due"], r["interest_due"]) for r in rows] == SCHEDULE_A
        assert [r["number"] for r in rows] == [1, 2, 3, 4] and {r["status"] for r in rows} == {"pending"}
        assert [r["due_date"] for r in rows] == sorted(r["due_date"] for r in rows)
    totals = [Decimal(r["principal_due"]) + Decimal(r["interest_due"]) for r in api_as(loan.created_by).get(url).json()]
    assert totals == [Decimal("3151.49")] * 3 + [Decimal("3151.47")]
    stranger, other_sme = UserFactory(), SmeUserFactory()
    assert api_as(stranger).get(f"{LOANS}{loan.pk}/").status_code == 200  # the listing itself is public
    assert _error(api_as(stranger).get(url)) == (404, "not_found")
    assert _error(api_as(other_sme).get(url)) == (404, "not_found")
    assert _error(api.get(url)) == (401, "not_authenticated")


# --- repayments -------------------------------------------------------------------------------


def test_repayment_of_what_is_due_and_of_an_amount(api_as, fund):
    loan, investors = _active_loan(api_as, fund)
    sme = loan.created_by
    client = api_as(sme)
    url = f"{LOANS}{loan.pk}/repayments/"
    assert _error(client.post(url, {}, format="json", **_key())) == (409, "nothing_due")
    _due_today(loan)
    headers = _key()
    response = client.post(url, {}, format="json", **headers)
    assert response.status_code == 201, response.json()
    paid = response.json()
    assert [paid[f] for f in ("amount", "interest_part", "principal_part", "penalty_part", "source", "is_compensatory")] == [
        "3151.49",
        "240.00",
        "2911.49",
        "0.00",
        "borrower",
        False,
    ]
    # 3,151.49 shared 2:1 -> gross 2,100.99 and 1,050.50; 1% fee each (HALF_EVEN): 21.01 and 10.50
    assert paid["service_fee"] == "31.51"
    shares = {s.note.holder_id: s for s in RepaymentShare.objects.filter(repayment_id=paid["id"]).select_related("note")}
    assert [(shares[i.pk].gross, shares[i.pk].net) for i in investors] == [
        (Decimal("2100.99"), Decimal("2079.98")),
        (Decimal("1050.50"), Decimal("1040.00")),
    ]
    assert [ledger.wallet_of_user(i).balance for i in investors] == [Decimal("2079.98"), Decimal("1040.00")]
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00") - Decimal("3151.49")
    first = loan.installments.get(number=1)
    assert (first.status, first.principal_paid, first.interest_paid) == ("paid", Decimal("2911.49"), Decimal("240.00"))
    # the replay returns the same repayment and moves nothing more
    again = client.post(url, {}, format="json", **headers)
    assert again.status_code == 201 and again.json() == paid and again["Idempotent-Replayed"] == "true"
    assert loan.repayments.count() == 1
    assert _error(client.post(url, {}, format="json", **_key())) == (409, "nothing_due")  # the next is due next month
    # an amount pays early: the second installment's interest first
    early = client.post(url, {"amount": "100.00"}, format="json", **_key())
    assert early.status_code == 201, early.json()
    assert (early.json()["amount"], early.json()["interest_part"], early.json()["principal_part"]) == ("100.00", "100.00", "0.00")
    # a JSON number is refused (amounts are strings); its string pays
    assert _error(client.post(url, {"amount": 12.5}, format="json", **_key())) == (400, "invalid_amount")
    floated = client.post(url, {"amount": "12.50"}, format="json", **_key())
    assert floated.status_code == 201 and floated.json()["amount"] == "12.50"
    second = loan.installments.get(number=2)
    assert (second.interest_paid, second.principal_paid, second.status) == (Decimal("112.50"), Decimal("0.00"), "pending")
    loan.refresh_from_db()
    assert loan.principal_outstanding == Decimal("12000.00") - Decimal("2911.49")
    assert loan.repayments.count() == 3 and ledger_problems() == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"amount": "20000.00"}, (400, "overpayment")),
        ({"amount": "8888.52"}, (400, "overpayment")),  # one cent more than everything outstanding (12,605.94 - 3,717.43)
        ({"amount": "abc"}, (400, "invalid_amount")),
        ({"amount": "-5"}, (400, "amount_not_positive")),
        ({"amount": "0"}, (400, "amount_not_positive")),
        ({"amount": "1.001"}, (400, "amount_too_precise")),
        ({"amount": 0.1 + 0.2}, (400, "invalid_amount")),
        ({"amount": 100}, (400, "invalid_amount")),
        ({"amount": "1e2"}, (400, "invalid_amount")),
        ({"amount": True}, (400, "invalid_amount")),
        ({"amount": ["100.00"]}, (400, "invalid_amount")),
    ],
)
def test_bad_repayments_change_nothing(api_as, fund, body, expected):
    loan, investors = _active_loan(api_as, fund)
    sme = loan.created_by
    services.repayment_make(user=sme, loan_id=loan.pk, amount="3717.43")  # all of installment 1 and part of 2
    before = _money_state(loan, sme, *investors)
    response = api_as(sme).post(f"{LOANS}{loan.pk}/repayments/", body, format="json", **_key())
    assert _error(response) == expected
    if expected[1] != "invalid":
        assert "amount" in response.json()["error"]["fields"]
    assert _money_state(loan, sme, *investors) == before


def test_repayment_refusals(api_as, fund):
    loan, investors = _active_loan(api_as, fund)
    _due_today(loan)
    url = f"{LOANS}{loan.pk}/repayments/"
    assert _error(api_as(loan.created_by).post(url, {}, format="json")) == (400, "idempotency_key_required")
    assert _error(api_as(investors[0]).post(url, {}, format="json", **_key())) == (404, "not_found")
    assert _error(api_as(SmeUserFactory()).post(url, {}, format="json", **_key())) == (404, "not_found")
    viewer = SmeUserFactory(organisation=loan.borrower, member_role="viewer")
    assert _error(api_as(viewer).post(url, {}, format="json", **_key())) == (403, "permission_denied")
    listed = listed_loan(sme=loan.created_by, amount="1000.00")
    response = api_as(loan.created_by).post(f"{LOANS}{listed.pk}/repayments/", {}, format="json", **_key())
    assert _error(response) == (409, "loan_not_active")
    assert not Repayment.objects.exists()


def test_payoff_settles_with_interest_to_date(api_as, fund):
    with business_day(datetime.date(2026, 6, 15)):
        loan, investors = _active_loan(api_as, fund)
        sme = loan.created_by
        client = api_as(sme)
        _due_today(loan, days_ago=10)  # installment 1 fell due on 5 June, 10 days ago
        # what is due: 3,151.49 and 10 days of penalty interest on it (0.05% a day: 15.757..., charged 15.75)
        paid = client.post(f"{LOANS}{loan.pk}/repayments/", {}, format="json", **_key()).json()
        assert (paid["amount"], paid["penalty_part"]) == ("3167.24", "15.75")
        url = f"{LOANS}{loan.pk}/payoff/"
        # remaining principal 9,088.51 + interest to date, 30/360: 9,088.51 x 24% x 10 / 360 = 60.59 -> 9,149.10;
        # the wallet holds 11,760.00 - 3,167.24 = 8,592.76
        before = _money_state(loan, sme, *investors)
        assert _error(client.post(url, format="json", **_key())) == (400, "insufficient_funds")
        assert _money_state(loan, sme, *investors) == before  # the re-cut schedule was rolled back too
        assert _error(client.post(url, format="json")) == (400, "idempotency_key_required")
        assert _error(api_as(investors[0]).post(url, format="json", **_key())) == (404, "not_found")
        fund(sme, "1000.00")
        response = client.post(url, format="json", **_key())
        assert response.status_code == 201, response.json()
        assert [response.json()[f] for f in ("amount", "interest_part", "principal_part")] == ["9149.10", "60.59", "9088.51"]
        loan.refresh_from_db()
        assert (loan.status, loan.principal_outstanding) == (LoanStatus.REPAID, Decimal("0.00"))
        assert set(loan.installments.values_list("status", flat=True)) == {InstallmentStatus.PAID}
        assert [n.received_principal for n in Note.objects.filter(loan=loan).order_by("pk")] == [Decimal("8000"), Decimal("4000")]
        assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00") + 1000 - Decimal("3167.24") - Decimal("9149.10")
        assert _error(client.post(url, format="json", **_key())) == (409, "loan_not_active")
        assert ledger_problems() == []


def test_guarantor_payment_is_recorded_as_compensatory(api_as, fund):
    loan, investors = _active_loan(api_as, fund)
    guarantor = SmeUserFactory(organisation=OrganisationFactory(kind="funder"), role="funder")
    fund(guarantor, "5000.00")
    url = f"{LOANS}{loan.pk}/guarantor-payments/"
    assert _error(api_as(guarantor).post(url, {}, format="json", **_key())) == (409, "nothing_due")
    _due_today(loan)
    response = api_as(guarantor).post(url, {}, format="json", **_key())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount"], body["source"], body["is_compensatory"]) == ("3151.49", "guarantor", True)
    assert Repayment.objects.get(pk=body["id"]).is_compensatory
    assert ledger.wallet_of_user(guarantor).balance == Decimal("1848.51")
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00")  # the borrower paid nothing
    assert loan.installments.get(number=1).status == InstallmentStatus.PAID
    assert _error(api_as(loan.created_by).post(url, {"amount": "10.00"}, format="json", **_key())) == (400, "not_a_third_party")
    regulator = StaffUserFactory(role="regulator")
    assert _error(api_as(regulator).post(url, {"amount": "10.00"}, format="json", **_key())) == (403, "permission_denied")
    assert _error(api_as(guarantor).post(url, {"amount": "99999.00"}, format="json", **_key())) == (400, "overpayment")
    assert _error(api_as(guarantor).post(url, {"amount": "10.00"}, format="json")) == (400, "idempotency_key_required")
    assert loan.repayments.count() == 1 and ledger_problems() == []


# --- lists ------------------------------------------------------------------------------------


def test_notes_list_shows_only_the_users_own_notes(api_as, api, fund):
    loan, (big, small) = _active_loan(api_as, fund)
    other_loan, (outsider,) = _active_loan(api_as, fund, amounts=("12000.00",))
    mine = api_as(big).get("/api/v1/notes/")
    assert mine.status_code == 200
    rows = mine.json()["results"]
    assert [(r["loan"], r["principal"], r["loan_status"]) for r in rows] == [(loan.pk, "8000.00", "active")]
    assert [r["principal"] for r in api_as(small).get("/api/v1/notes/").json()["results"]] == ["4000.00"]
    assert [r["loan"] for r in api_as(outsider).get("/api/v1/notes/").json()["results"]] == [other_loan.pk]
    assert api_as(loan.created_by).get("/api/v1/notes/").json()["results"] == []
    assert api_as(StaffUserFactory(role="operator")).get("/api/v1/notes/").json()["results"] == []
    assert _error(api.get("/api/v1/notes/")) == (401, "not_authenticated")


def test_loan_list_queries_do_not_grow_with_the_loans(api_as, api):
    operator = StaffUserFactory(role="operator")
    listed_loan()

    def count(client):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LOANS, {"page_size": 50})
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    one = {name: count(client) for name, client in (("anonymous", api), ("operator", api_as(operator)))}
    for _ in range(49):
        listed_loan()  # each with its own borrower: a borrower lookup per row would show
    fifty = {name: count(client) for name, client in (("anonymous", api), ("operator", api_as(operator)))}
    assert {name: n for name, (_, n) in one.items()} == {"anonymous": 1, "operator": 1}
    assert {name: n for name, (_, n) in fifty.items()} == {"anonymous": 50, "operator": 50}
    assert {name: q for name, (q, _) in fifty.items()} == {name: q for name, (q, _) in one.items()}
    assert one["anonymous"][0] == 2  # the page count and the page (borrowers joined)


def test_loan_list_filters_and_bad_pages(api_as, api):
    listed = listed_loan()
    sme = SmeUserFactory()
    draft_id = api_as(sme).post(LOANS, _loan_body(), format="json").json()["id"]
    assert [r["id"] for r in api.get(LOANS).json()["results"]] == [listed.pk]
    assert [r["id"] for r in api_as(sme).get(LOANS).json()["results"]] == [draft_id, listed.pk]
    assert [r["id"] for r in api_as(sme).get(LOANS, {"mine": "true"}).json()["results"]] == [draft_id]
    assert [r["id"] for r in api.get(LOANS, {"grade": "E"}).json()["results"]] == [listed.pk]
    assert api.get(LOANS, {"status": "no_such_status"}).json()["results"] == []
    assert _error(api.get(LOANS, {"page": "abc"})) == (404, "not_found")
    assert _error(api.get(LOANS, {"page": 99})) == (404, "not_found")


# --- the error shape, never a 500 -------------------------------------------------------------


MISSING_LOAN_CALLS = [
    ("get", "", "sme", None),
    ("patch", "", "sme", {"purpose": "x"}),
    ("post", "submit/", "sme", None),
    ("post", "withdraw/", "sme", None),
    ("post", "approve/", "operator", {"grade": "E"}),
    ("post", "reject/", "operator", {"reason": "No"}),
    ("post", "investments/", "investor", {"amount": "100.00"}),
    ("get", "schedule/", "sme", None),
    ("post", "repayments/", "sme", {}),
    ("post", "repayments/", "sme", {"amount": "10.00"}),
    ("post", "payoff/", "sme", None),
    ("post", "guarantor-payments/", "investor", {"amount": "10.00"}),
]


@pytest.mark.parametrize("loan_id", [999999, 0, 9223372036854775807, 10**30])
@pytest.mark.parametrize(("method", "suffix", "who", "body"), MISSING_LOAN_CALLS)
def test_missing_loans_are_404_in_the_error_shape(api_as, fund, loan_id, method, suffix, who, body):
    users = {"sme": SmeUserFactory, "operator": lambda: StaffUserFactory(role="operator"), "investor": UserFactory}
    user = users[who]()
    if who == "investor":
        fund(user, "1000.00")
    response = getattr(api_as(user), method)(f"{LOANS}{loan_id}/{suffix}", body, format="json", **_key())
    assert _error(response) == (404, "not_found")


@pytest.mark.parametrize("path", ["abc/", "abc/schedule/", "-1/investments/", "1.5/repayments/", "1/no-such-action/"])
def test_urls_that_do_not_resolve_are_404_in_the_error_shape(api_as, path):
    # the <int:pk> converter does not match, so DRF never sees the request: Django's handler404 answers
    response = api_as(SmeUserFactory()).post(f"{LOANS}{path}", {"amount": "10.00"}, format="json", **_key())
    assert response["Content-Type"] == "application/json"
    assert _error(response) == (404, "not_found")


def test_malformed_bodies_are_400_in_the_error_shape(api_as, fund):
    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "1000.00")
    url = f"{LOANS}{loan.pk}/investments/"
    for raw in ('{"amount": ', '{"amount": NaN}', "[1, 2]", "not json"):
        response = api_as(investor).post(url, raw, content_type="application/json", **_key())
        assert response.status_code == 400 and _error(response)[1] in ("parse_error", "invalid"), (raw, response.json())
    plain = api_as(investor).post(url, "amount=100", content_type="text/plain", **_key())
    assert _error(plain) == (415, "unsupported_media_type")
    assert _error(api_as(investor).put(url, {"amount": "100.00"}, format="json", **_key())) == (405, "method_not_allowed")
    assert not loan.investments.exists() and ledger.wallet_of_user(investor).balance == Decimal("1000.00")
