"""Server-rendered P2P pages: the SME's listing form and its loans, browsing and investing, the
loan page with its schedule and repayment forms, and the investor's portfolio."""

import datetime
import html
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from p2p import services
from p2p.models import Installment, InstallmentStatus, Investment, Loan, LoanStatus, Note, Repayment
from platform_core.ledger import services as ledger
from tests.factories import SmeUserFactory, StaffUserFactory, UserFactory

from .factories import business_day, funded_investors, listed_loan

pytestmark = pytest.mark.django_db

LOAN_FORM = {
    "amount": "12000.00",
    "term_months": "4",
    "annual_rate_percent": "24",
    "method": "equal_installments",
    "purpose": "Working capital for the spring harvest",
}


# --- helpers ----------------------------------------------------------------------------------


def _errors(response, name):
    """The error messages rendered beside the field `name` ("__all__": at the top of the form)."""
    page = response.content.decode()
    return [html.unescape(e) for e in re.findall(rf'class="error" data-for="{re.escape(name)}">(.*?)</', page, flags=re.S)]


def _form(response, form_id):
    match = re.search(rf'<form [^>]*id="{form_id}"[^>]*>(.*?)</form>', response.content.decode(), flags=re.S)
    assert match, f"no form #{form_id} on the page"
    return match.group(1)


def _hidden_key(response, form_id=None):
    page = _form(response, form_id) if form_id else response.content.decode()
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert match, "no hidden idempotency key on the page"
    return match.group(1)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response):
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))).strip()


def _row(response, attribute, pk):
    match = re.search(rf'<tr data-{attribute}="{pk}"[^>]*>(.*?)</tr>', response.content.decode(), flags=re.S)
    assert match, f"no row data-{attribute}={pk}"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))).strip()


def _active_loan(fund, amounts=("6000.00", "6000.00"), **kwargs):
    loan = listed_loan(**kwargs)
    investors = funded_investors(fund, loan, amounts)
    services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    return loan, investors


def _due_today(loan, number=1):
    """Move an installment's due date to today, as if a month had passed since disbursement."""
    Installment.objects.filter(loan=loan, number=number).update(due_date=services.business_date())


def _invest(client, loan, amount, key=None):
    key = key or _hidden_key(client.get(f"/loans/{loan.pk}/"))
    return client.post(f"/loans/{loan.pk}/invest/", {"amount": amount, "idempotency_key": key})


# --- the whole way through: list, fund, disburse, repay, portfolio ----------------------------


def test_sme_lists_investors_fund_and_a_repayment_reaches_their_portfolios(client, fund):
    sme = SmeUserFactory()
    operator = StaffUserFactory(role="operator")
    client.force_login(sme)
    assert client.get("/loans/new/").status_code == 200

    created = client.post("/loans/new/", LOAN_FORM)

    loan = Loan.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/loans/{loan.pk}/"
    assert (loan.status, loan.amount, loan.term_months, loan.annual_rate, loan.borrower) == (
        LoanStatus.DRAFT,
        Decimal("12000.00"),
        4,
        Decimal("0.240000"),
        sme.organisation,
    )
    draft_page = client.get(created["Location"])
    assert "Your loan · Draft" in _text(draft_page) and "Submit for review" in _text(draft_page)

    submitted = client.post(f"/loans/{loan.pk}/submit/")
    assert submitted.status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.IN_REVIEW

    services.loan_approve(actor=operator, loan_id=loan.pk, grade="E")
    investors = [UserFactory() for _ in range(3)]
    for investor in investors:
        fund(investor, "5000.00")
        client.force_login(investor)
        assert f'data-loan="{loan.pk}"' in client.get("/loans/").content.decode()
        invested = _invest(client, loan, "4000.00")
        assert invested.status_code == 302 and _receipt_path(invested) == f"/loans/{loan.pk}/"
        assert _messages(invested) == [f"Your investment of 4000.00 CNY in loan {loan.pk} is recorded."]
    loan.refresh_from_db()
    assert (loan.status, loan.funded_amount, loan.investor_count) == (LoanStatus.FUNDED, Decimal("12000.00"), 3)
    assert [ledger.wallet_of_user(i).balance for i in investors] == [Decimal("1000.00")] * 3
    assert "Fully funded: this loan takes no more investments." in _text(client.get(f"/loans/{loan.pk}/"))

    services.loan_disburse(loan_id=loan.pk)  # the Celery task's job, not the web's
    _due_today(loan)
    client.force_login(sme)
    page = client.get(f"/loans/{loan.pk}/")
    assert "Due now: 3,151.49 CNY" in _text(page)
    assert _row(page, "installment", 1).split()[2:] == ["2,911.49", "240.00", "0.00", "0.00", "Pending"]

    repaid = client.post(f"/loans/{loan.pk}/repay/", {"idempotency_key": _hidden_key(page, "repay-due")})

    assert repaid.status_code == 302 and _receipt_path(repaid) == f"/loans/{loan.pk}/"
    assert _messages(repaid) == ["Repayment of 3151.49 CNY recorded: 240.00 interest, 2911.49 principal."]
    assert ledger.wallet_for(sme.organisation).balance == Decimal("11760.00") - Decimal("3151.49")
    after = client.get(f"/loans/{loan.pk}/")
    assert _row(after, "installment", 1).split()[2:] == ["2,911.49", "240.00", "0.00", "3,151.49", "Paid"]
    repayment = Repayment.objects.get()
    assert _row(after, "repayment", repayment.pk).split()[2:] == ["Borrower", "3,151.49", "0.00", "240.00", "2,911.49"]
    assert "Nothing is due now. Next: 3,151.49 CNY on" in _text(after)

    # 2,911.49 principal in three equal notes: 970.50, 970.50, 970.49 (largest remainder, the older note first);
    # 240.00 interest: 80.00 each; the 1% service fee of 1,050.50 is 10.50 (HALF_EVEN)
    client.force_login(investors[0])
    book = client.get("/loans/portfolio/")
    note = Note.objects.get(holder=investors[0])
    assert _row(book, "note", note.pk).split()[-5:] == ["4,000.00", "3,029.50", "970.50", "80.00", "10.50"]
    assert re.search(r'data-total="expected">3,151.48<', book.content.decode())  # a third of 9,454.45 still scheduled
    assert ledger.wallet_of_user(investors[0]).balance == Decimal("2040.00")  # 1,000 + 1,050.50 - 10.50
    client.force_login(investors[2])
    assert _row(client.get("/loans/portfolio/"), "note", Note.objects.get(holder=investors[2]).pk).split()[-3:] == [
        "970.49",
        "80.00",
        "10.50",
    ]


# --- the SME's listing form -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "abc", 'Enter a valid amount, e.g. "100.00".'),
        ("amount", "500.00", "A loan is at least 1000.00."),
        ("amount", "1000.001", "CNY amounts have at most 2 decimal places."),
        ("term_months", "48", "The term is 1 to 36 months."),
        ("term_months", "two", "Enter a whole number."),
        ("annual_rate_percent", "40", "The annual rate is 0 to 36 percent, with at most 4 decimals."),
        ("annual_rate_percent", "twelve", 'Give the annual rate in percent, e.g. "12.5".'),
        ("method", "balloon", "Select a valid choice. balloon is not one of the available choices."),
        ("purpose", "", "This field is required."),
    ],
)
def test_a_refused_listing_shows_the_error_beside_its_field_and_saves_nothing(client, field, value, message):
    client.force_login(SmeUserFactory())

    response = client.post("/loans/new/", {**LOAN_FORM, field: value})

    assert response.status_code == 400
    assert _errors(response, field) == [message]
    assert [name for name in LOAN_FORM if name != field and _errors(response, name)] == []
    assert Loan.objects.count() == 0


def test_only_smes_apply_for_loans(client):
    client.force_login(UserFactory())

    for response in (client.get("/loans/new/"), client.post("/loans/new/", LOAN_FORM)):
        assert response.status_code == 302 and response["Location"] == "/loans/"
    assert Loan.objects.count() == 0


def test_sme_edits_a_draft_and_a_submitted_loan_is_no_longer_editable(client):
    sme = SmeUserFactory()
    loan = services.loan_create(
        user=sme, amount="8000.00", term_months=6, annual_rate_percent="12.5", method="equal_principal", purpose="A new oven"
    )
    client.force_login(sme)
    form_page = client.get(f"/loans/{loan.pk}/edit/")
    assert 'value="12.5"' in form_page.content.decode() and 'value="8000.00"' in form_page.content.decode()

    edited = {**LOAN_FORM, "amount": "9500.00", "annual_rate_percent": "13.25"}
    response = client.post(f"/loans/{loan.pk}/edit/", edited, follow=True)

    assert response.redirect_chain == [(f"/loans/{loan.pk}/", 302)] and "Draft saved." in _text(response)
    loan.refresh_from_db()
    assert (loan.amount, loan.annual_rate, loan.term_months, loan.method) == (
        Decimal("9500.00"),
        Decimal("0.132500"),
        4,
        "equal_installments",
    )
    services.loan_submit(user=sme, loan_id=loan.pk)
    late = client.post(f"/loans/{loan.pk}/edit/", {**LOAN_FORM, "amount": "1000.00"})
    assert late.status_code == 302 and late["Location"] == f"/loans/{loan.pk}/"
    assert _messages(late) == ["This loan is in review; only a draft can be edited."]
    loan.refresh_from_db()
    assert loan.amount == Decimal("9500.00")


def test_submitting_over_the_borrowing_cap_shows_why_and_stays_a_draft(client):
    sme = SmeUserFactory()
    big = services.loan_create(
        user=sme, amount="1000000.00", term_months=12, annual_rate_percent="10", method="equal_installments", purpose="A factory"
    )
    services.loan_submit(user=sme, loan_id=big.pk)
    small = services.loan_create(
        user=sme, amount="1000.00", term_months=3, annual_rate_percent="10", method="equal_installments", purpose="Stock"
    )
    client.force_login(sme)

    response = client.post(f"/loans/{small.pk}/submit/", follow=True)

    assert response.redirect_chain == [(f"/loans/{small.pk}/", 302)]
    message = (
        "A borrower may owe at most 1000000.00 on this platform; 1000000.00 is already owed or requested, so at most 0.00 more."
    )
    assert message in _text(response)
    small.refresh_from_db()
    assert small.status == LoanStatus.DRAFT


def test_rejected_loan_shows_the_reason_and_goes_back_to_draft(client):
    sme = SmeUserFactory()
    loan = services.loan_create(user=sme, **{k: v for k, v in LOAN_FORM.items()})
    services.loan_submit(user=sme, loan_id=loan.pk)
    services.loan_reject(actor=StaffUserFactory(role="operator"), loan_id=loan.pk, reason="Send last year's accounts.")
    client.force_login(sme)

    page = client.get(f"/loans/{loan.pk}/")
    assert "Why it was rejected: Send last year's accounts." in _text(page) and "Back to draft" in _text(page)
    assert "See why" in _row(client.get("/loans/mine/"), "loan", loan.pk)

    response = client.post(f"/loans/{loan.pk}/redraft/")

    assert response.status_code == 302 and response["Location"] == f"/loans/{loan.pk}/edit/"
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DRAFT
    assert "It was rejected before: Send last year's accounts." in _text(client.get(response["Location"]))


def test_sme_withdraws_a_listed_loan_after_confirming_and_investors_are_refunded(client, fund):
    loan = listed_loan()
    (investor,) = funded_investors(fund, loan, ["3000.00"])
    client.force_login(loan.created_by)
    assert f'href="/loans/{loan.pk}/withdraw/"' in client.get(f"/loans/{loan.pk}/").content.decode()

    confirm = client.get(f"/loans/{loan.pk}/withdraw/")
    assert confirm.status_code == 200
    assert "every investor is refunded in full: 1 investor, 3,000.00 CNY" in _text(confirm)
    assert "This cannot be undone." in _text(confirm)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.LISTED  # looking at the confirmation changes nothing

    response = client.post(f"/loans/{loan.pk}/withdraw/", follow=True)

    assert response.redirect_chain == [(f"/loans/{loan.pk}/", 302)]
    assert "Listing withdrawn. Every investor is refunded." in _text(response)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WITHDRAWN
    assert ledger.wallet_of_user(investor).balance == Decimal("3000.00")
    again = client.get(f"/loans/{loan.pk}/withdraw/")
    assert again.status_code == 302 and _messages(again) == [
        "This loan is withdrawn (refunded); only a listing that is funding can be withdrawn."
    ]


def test_another_sme_cannot_see_or_act_on_a_loan_that_is_not_its_own(client, fund):
    owner = SmeUserFactory()
    draft = services.loan_create(
        user=owner,
        amount="5000.00",
        term_months=3,
        annual_rate_percent="20",
        method="equal_installments",
        purpose="Secret expansion",
    )
    active, _ = _active_loan(fund)
    client.force_login(SmeUserFactory())

    for path in ("", "edit/", "withdraw/"):
        assert client.get(f"/loans/{draft.pk}/{path}").status_code == 404, path
    for path in ("edit/", "submit/", "redraft/", "withdraw/", "repay/", "repay-in-full/", "invest/"):
        assert client.post(f"/loans/{draft.pk}/{path}", {**LOAN_FORM, "idempotency_key": "k"}).status_code == 404, path
    assert client.get(f"/loans/{active.pk}/").status_code == 200  # a public loan is visible ...
    for path in ("edit/", "withdraw/"):
        assert client.get(f"/loans/{active.pk}/{path}").status_code == 404, path  # ... but not the borrower's pages
    for path in ("withdraw/", "repay/", "repay-in-full/"):
        assert client.post(f"/loans/{active.pk}/{path}", {"idempotency_key": "k"}).status_code == 404, path
    assert "Secret expansion" not in _text(client.get("/loans/?status="))
    assert f'data-loan="{draft.pk}"' not in client.get("/loans/mine/").content.decode()
    draft.refresh_from_db()
    active.refresh_from_db()
    assert (draft.status, draft.amount) == (LoanStatus.DRAFT, Decimal("5000.00"))
    assert active.principal_outstanding == Decimal("12000.00")
    assert Repayment.objects.count() == 0
    client.logout()
    assert client.get(f"/loans/{draft.pk}/").status_code == 404


# --- investing ---------------------------------------------------------------------------------


def test_a_double_submitted_investment_is_recorded_once(client, fund):
    loan = listed_loan()
    investor = UserFactory()
    wallet = fund(investor, "1000.00")
    client.force_login(investor)
    key = _hidden_key(client.get(f"/loans/{loan.pk}/"))

    first = client.post(f"/loans/{loan.pk}/invest/", {"amount": "500.00", "idempotency_key": key}, follow=True)
    second = _invest(client, loan, "500.00", key)

    assert _receipt_chain(first) == [(f"/loans/{loan.pk}/", 302)] and second.status_code == 302
    assert _messages(second) == [
        f"Your investment of 500.00 CNY in loan {loan.pk} is recorded (this form was already submitted; it was recorded once)."
    ]
    assert Investment.objects.filter(investor=investor).count() == 1
    wallet.refresh_from_db()
    loan.refresh_from_db()
    assert wallet.balance == Decimal("500.00")
    assert (loan.funded_amount, loan.investor_count) == (Decimal("500.00"), 1)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", 'Enter a valid amount, e.g. "100.00".'),
        ("0", "The amount must be greater than zero."),
        ("150.005", "CNY amounts have at most 2 decimal places."),
        ("50.00", "The minimum investment is 100.00 (or exactly what is left, 2000.00)."),
        ("2500.00", "Only 2000.00 is left to fund on this loan."),
        ("1500.00", "Insufficient funds: Wallet of {investor} holds 1000.00 CNY."),
    ],
)
def test_a_refused_investment_shows_the_error_beside_the_amount_and_changes_nothing(client, fund, amount, message):
    loan = listed_loan()
    funded_investors(fund, loan, ["10000.00"])  # 2,000 left to fund
    investor = UserFactory()
    wallet = fund(investor, "1000.00")
    client.force_login(investor)
    key = _hidden_key(client.get(f"/loans/{loan.pk}/"))

    response = _invest(client, loan, amount, key)

    assert response.status_code == 400
    assert _errors(response, "amount") == [message.format(investor=investor)]
    assert _errors(response, "__all__") == []
    assert "Left to fund: 2,000.00 CNY" in _text(response)
    wallet.refresh_from_db()
    loan.refresh_from_db()
    assert wallet.balance == Decimal("1000.00")
    assert Investment.objects.filter(investor=investor).count() == 0
    assert (loan.funded_amount, loan.investor_count) == (Decimal("10000.00"), 1)
    # the refusal is kept under the old key: the corrected form carries a new one and goes through
    assert _hidden_key(response) != key
    corrected = _invest(client, loan, "1000.00", _hidden_key(response))
    assert corrected.status_code == 302
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.00")


@pytest.mark.parametrize("case", ["kyc", "own_loan", "not_listed"])
def test_a_refusal_about_the_investor_or_the_loan_is_shown_at_the_top(client, fund, case):
    loan = listed_loan()
    if case == "kyc":
        investor = UserFactory(kyc_status="pending")
        message = "Your identity is not verified (KYC status: pending); money cannot move yet."
    elif case == "own_loan":
        investor = SmeUserFactory(organisation=loan.borrower)
        message = "You cannot invest in your own organisation's loan."
    else:
        investor = UserFactory()
        fund(investor, "1000.00")
        funded_investors(fund, loan, [str(loan.amount)])
        message = "This loan is funded; it takes no investments."
    loan.refresh_from_db()
    before = (loan.status, loan.funded_amount, Investment.objects.count())
    client.force_login(investor)

    response = client.post(f"/loans/{loan.pk}/invest/", {"amount": "500.00", "idempotency_key": "k-1"})

    assert response.status_code == 400
    assert _errors(response, "__all__") == [message]
    loan.refresh_from_db()
    assert (loan.status, loan.funded_amount, Investment.objects.count()) == before


def test_a_malformed_investment_form_is_refused_at_the_top(client, fund):
    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "1000.00")
    client.force_login(investor)

    response = client.post(f"/loans/{loan.pk}/invest/", {"amount": "500.00"})

    assert response.status_code == 400
    assert _errors(response, "__all__") == [
        "The form is incomplete (idempotency_key: This field is required.); reload the page and try again."
    ]
    assert Investment.objects.count() == 0


def test_anonymous_visitors_browse_and_are_asked_to_log_in_to_invest(client):
    loan = listed_loan()

    page = client.get(f"/loans/{loan.pk}/")

    assert page.status_code == 200 and "Log in to invest" in _text(page)
    assert 'name="idempotency_key"' not in page.content.decode() and 'id="schedule"' not in page.content.decode()
    post = client.post(f"/loans/{loan.pk}/invest/", {"amount": "100.00", "idempotency_key": "k"})
    assert post.status_code == 302 and post["Location"].startswith("/login/")
    for path in ("/loans/mine/", "/loans/portfolio/", "/loans/new/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    assert Investment.objects.count() == 0


# --- browsing ---------------------------------------------------------------------------------


def _browse(client, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/loans/{query}")
    assert response.status_code == 200
    return len(queries), response.content.decode().count('class="card loan-card"')


def test_the_browse_page_runs_the_same_queries_for_1_and_50_loans(client):
    sme = SmeUserFactory()
    listed_loan(sme=sme, amount="1000.00")
    client.force_login(UserFactory())
    one, cards = _browse(client)
    assert cards == 1

    for n in range(49):
        listed_loan(sme=sme if n % 2 else None, amount="1000.00", grade="D" if n % 3 else "E", rate_percent="19.5")
    fifty, cards = _browse(client)

    assert cards == 12
    assert fifty == one


def test_a_card_shows_grade_rate_term_amount_progress_and_time_left(client, fund):
    loan = listed_loan(amount="8000.00", term_months=6, rate_percent="21.5", grade="E")
    funded_investors(fund, loan, ["2000.00"])

    page = client.get("/loans/")

    card = re.search(rf'<article class="card loan-card" data-loan="{loan.pk}">(.*?)</article>', page.content.decode(), flags=re.S)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card.group(1))))
    assert "E 21.50% a year 6 months · Equal installments" in text
    assert "8,000.00 CNY" in text and "2,000.00 of 8,000.00 CNY 25%" in text
    assert re.search(r"(1 week, 6 days|2 weeks) left · 1 investor\b", text)
    assert 'aria-valuenow="25"' in card.group(1) and 'style="width: 25%"' in card.group(1)


def test_browse_shows_listed_loans_by_default_filters_by_grade_and_paginates(client, fund):
    sme = SmeUserFactory()
    grade_d = [listed_loan(sme=sme, amount="1000.00", grade="D", rate_percent="18") for _ in range(13)]
    grade_e = listed_loan(sme=sme, amount="1000.00", grade="E")
    active, _ = _active_loan(fund)

    first = client.get("/loans/")
    assert "14 loans" in _text(first) and "Page 1 of 2" in _text(first)
    assert f'data-loan="{active.pk}"' not in first.content.decode()
    assert client.get("/loans/?page=2").content.decode().count('class="card loan-card"') == 2
    only_e = client.get("/loans/?status=listed&grade=E").content.decode()
    assert re.findall(r'data-loan="(\d+)"', only_e) == [str(grade_e.pk)]
    assert f'data-loan="{active.pk}"' in client.get("/loans/?status=active").content.decode()
    everything = client.get("/loans/?status=")
    assert "15 loans" in _text(everything)  # any public status
    assert str(grade_d[0].pk) in re.findall(r'data-loan="(\d+)"', client.get("/loans/?grade=D&page=2").content.decode())


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=999",
        "page=-1",
        "status=bogus",
        "status=draft",
        "grade=Z",
        "grade=%27%3B--",
        "status=listed&status=x",
    ],
)
def test_bad_filters_never_break_the_browse_page(client, query):
    loan = listed_loan()
    response = client.get(f"/loans/?{query}")
    assert response.status_code == 200
    assert response.content.decode().count(f'data-loan="{loan.pk}"') in (0, 1)


@pytest.mark.parametrize("path", ["/loans/0/", "/loans/999999/", "/loans/99999999999999999999/", "/loans/abc/", "/loans/1/nope/"])
def test_bad_loan_ids_are_a_404(client, path):
    listed_loan()
    client.force_login(UserFactory())
    assert client.get(path).status_code == 404
    assert client.post(path.rstrip("/") + "/invest/", {"amount": "100.00", "idempotency_key": "k"}).status_code == 404


# --- the schedule: the borrower, note holders and staff only ----------------------------------


def test_the_schedule_is_shown_to_the_borrower_note_holders_and_staff_only(client, fund):
    loan, (holder, _) = _active_loan(fund)

    def schedule_rows():
        page = client.get(f"/loans/{loan.pk}/")
        assert page.status_code == 200
        return re.findall(r'data-installment="(\d+)"', page.content.decode())

    for viewer in (loan.created_by, holder, StaffUserFactory(role="operator"), StaffUserFactory(role="regulator")):
        client.force_login(viewer)
        assert schedule_rows() == ["1", "2", "3", "4"], viewer.username
    client.force_login(UserFactory())
    assert schedule_rows() == []
    client.force_login(SmeUserFactory())
    assert schedule_rows() == []
    client.logout()
    assert schedule_rows() == []


# --- the borrower: my loans, repay --------------------------------------------------------------


def test_my_loans_shows_status_funding_outstanding_and_days_past_due(client, fund):
    active, _ = _active_loan(fund)
    sme = active.created_by
    listed = listed_loan(sme=sme, amount="5000.00")
    funded_investors(fund, listed, ["1000.00"])
    draft = services.loan_create(
        user=sme, amount="3000.00", term_months=3, annual_rate_percent="20", method="equal_installments", purpose="Stock"
    )
    first_due = active.installments.get(number=1).due_date
    other = listed_loan(amount="2000.00")
    with business_day(first_due + datetime.timedelta(days=40)):
        services.overdue_sweep()
        client.force_login(sme)

        page = client.get("/loans/mine/")

        after_status = _row(page, "loan", active.pk).split(" Active (disbursed) ")[1]
        assert after_status.startswith("12,000.00 / 12,000.00 100% · 2 investors 12,000.00")
        assert "40 days (31-60)" in _row(page, "loan", active.pk)
        assert f'<tr data-loan="{active.pk}" class="overdue">' in page.content.decode()
        assert "Listed (funding) 1,000.00 / 5,000.00 20% · 1 investor —" in _row(page, "loan", listed.pk)
        assert "Withdraw" in _row(page, "loan", listed.pk)
        assert "Draft" in _row(page, "loan", draft.pk) and "Edit" in _row(page, "loan", draft.pk)
        assert f'data-loan="{other.pk}"' not in page.content.decode()
        # 40 days of penalty interest on 3,151.49 at 0.05% a day: 63.0298, rounded down to 63.02; and the late fee
        # charged at 15 days, 5% of 3,151.49 = 157.57 (more than 15.00): charges 220.59
        assert _row(client.get(f"/loans/{active.pk}/"), "installment", 1).split()[2:] == [
            "2,911.49",
            "240.00",
            "220.59",
            "0.00",
            "Overdue",
        ]


def test_repay_an_amount_interest_first_and_refusals_change_nothing(client, fund):
    loan, _ = _active_loan(fund)
    sme = loan.created_by
    client.force_login(sme)
    page = client.get(f"/loans/{loan.pk}/")
    assert "Nothing is due now." in _text(page) and 'id="repay-due"' in page.content.decode()
    wallet = ledger.wallet_for(sme.organisation)

    nothing_due = client.post(f"/loans/{loan.pk}/repay/", {"idempotency_key": _hidden_key(page, "repay-due")})
    too_much = client.post(
        f"/loans/{loan.pk}/repay/", {"amount": "20000.00", "idempotency_key": _hidden_key(page, "repay-amount")}
    )
    bad = client.post(f"/loans/{loan.pk}/repay/", {"amount": "-1", "idempotency_key": "k-bad"})

    assert nothing_due.status_code == too_much.status_code == bad.status_code == 400
    assert _errors(nothing_due, "amount") == ["Nothing is due now; give an amount to repay early."]
    assert _errors(too_much, "amount") == [
        "Only 12605.94 is outstanding (use full early repayment to settle with interest to date)."
    ]
    assert _errors(bad, "amount") == ["The amount must be greater than zero."]
    wallet.refresh_from_db()
    loan.refresh_from_db()
    assert wallet.balance == Decimal("11760.00") and loan.principal_outstanding == Decimal("12000.00")
    assert Repayment.objects.count() == 0
    assert _hidden_key(too_much, "repay-amount") != _hidden_key(page, "repay-amount")

    key = _hidden_key(too_much, "repay-amount")
    paid = client.post(f"/loans/{loan.pk}/repay/", {"amount": "500.00", "idempotency_key": key}, follow=True)
    again = client.post(f"/loans/{loan.pk}/repay/", {"amount": "500.00", "idempotency_key": key})

    assert _receipt_chain(paid) == [(f"/loans/{loan.pk}/", 302)] and again.status_code == 302
    assert "Repayment of 500.00 CNY recorded: 240.00 interest, 260.00 principal." in _text(paid)
    assert _messages(again) == [
        "Repayment of 500.00 CNY recorded: 240.00 interest, 260.00 principal."
        " (This form was already submitted; the money moved once.)"
    ]
    assert Repayment.objects.count() == 1
    wallet.refresh_from_db()
    loan.refresh_from_db()
    assert wallet.balance == Decimal("11260.00") and loan.principal_outstanding == Decimal("11740.00")


def test_repay_in_full_shows_the_quote_and_settles_the_loan_once(client, fund):
    loan, investors = _active_loan(fund)
    sme = loan.created_by
    fund(sme, "240.00")  # the origination fee: 11,760 arrived, 12,000 to pay back
    client.force_login(sme)
    page = client.get(f"/loans/{loan.pk}/")
    quote = services.loan_payoff_quote(loan, services.business_date())
    assert quote["total"] == Decimal("12000.00")  # disbursed today: no interest yet
    assert "Due so far 0.00 Interest to date 0.00 Remaining principal 12,000.00 To pay today 12,000.00 CNY" in _text(page)
    key = _hidden_key(page, "repay-full")

    first = client.post(f"/loans/{loan.pk}/repay-in-full/", {"idempotency_key": key})
    second = client.post(f"/loans/{loan.pk}/repay-in-full/", {"idempotency_key": key})

    assert first.status_code == second.status_code == 302
    assert _messages(first) == [
        "Repayment of 12000.00 CNY recorded: 0.00 interest, 12000.00 principal. The loan is repaid in full."
    ]
    assert Repayment.objects.count() == 1
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID and loan.principal_outstanding == 0
    assert ledger.wallet_for(sme.organisation).balance == Decimal("0.00")
    assert [n.principal_outstanding for n in Note.objects.filter(loan=loan)] == [Decimal("0.00"), Decimal("0.00")]
    after = client.get(f"/loans/{loan.pk}/")
    assert "Your loan · Repaid" in _text(after) and 'id="repay-full"' not in after.content.decode()


def test_repay_in_full_without_the_money_is_refused_at_the_top(client, fund):
    loan, _ = _active_loan(fund)
    client.force_login(loan.created_by)
    page = client.get(f"/loans/{loan.pk}/")

    response = client.post(f"/loans/{loan.pk}/repay-in-full/", {"idempotency_key": _hidden_key(page, "repay-full")})

    assert response.status_code == 400
    assert [e for e in _errors(response, "__all__")] == [
        f"Insufficient funds: Wallet of {loan.borrower.legal_name} holds 11760.00 CNY."
    ]
    loan.refresh_from_db()
    assert (loan.status, loan.principal_outstanding, Repayment.objects.count()) == (LoanStatus.ACTIVE, Decimal("12000.00"), 0)
    assert list(loan.installments.values_list("status", flat=True)) == [InstallmentStatus.PENDING] * 4
    assert _hidden_key(response, "repay-full") != _hidden_key(page, "repay-full")


# --- the investor's portfolio -------------------------------------------------------------------


def test_the_portfolio_shows_only_the_investors_own_notes_and_highlights_overdue_ones(client, fund):
    late, (alice, bob) = _active_loan(fund, amounts=("6000.00", "6000.00"))
    on_time, (carol,) = _active_loan(fund, amounts=("12000.00",))
    first = on_time.installments.get(number=1)
    services.repayment_make(user=on_time.created_by, loan_id=on_time.pk, amount=str(first.principal_due + first.interest_due))
    with business_day(first.due_date + datetime.timedelta(days=10)):
        services.overdue_sweep()
        client.force_login(alice)

        page = client.get("/loans/portfolio/")

        alice_note = Note.objects.get(holder=alice)
        assert re.findall(r'data-note="(\d+)"', page.content.decode()) == [str(alice_note.pk)]
        assert f'<tr data-note="{alice_note.pk}" class="overdue">' in page.content.decode()
        assert "Active (disbursed) 10 days past due (1-30)" in _row(page, "note", alice_note.pk)
        assert "1 note in loans past due: highlighted below." in _text(page)
        assert re.search(r'data-total="invested">6,000.00<', page.content.decode())
        client.force_login(carol)
        carol_page = client.get("/loans/portfolio/")
        assert re.findall(r'data-note="(\d+)"', carol_page.content.decode()) == [str(Note.objects.get(holder=carol).pk)]
        assert 'class="overdue"' not in carol_page.content.decode()
        client.force_login(UserFactory())
        assert "No notes yet." in _text(client.get("/loans/portfolio/"))


def _nav(client):
    page = client.get("/").content.decode()
    return re.findall(r'<a href="[^"]+">([^<]+)</a>', re.search(r"<nav>(.*?)</nav>", page, flags=re.S).group(1))


def test_navigation_links_by_role(client):
    public = ["Home", "Campaigns", "Loans", "Disclosures"]
    assert _nav(client) == public
    client.force_login(UserFactory())
    assert _nav(client) == [*public, "My pledges", "Portfolio", "Wallet"]
    client.force_login(SmeUserFactory())
    assert _nav(client) == [*public, "My campaigns", "My loans", "Supply chain", "Wallet"]
    client.force_login(StaffUserFactory(role="operator"))
    assert _nav(client) == [*public, "Supply chain", "Admin"]


def test_portfolio_shows_money_committed_to_listings_not_yet_disbursed(client, fund):
    loan = listed_loan(amount="10000.00")
    investor, other = UserFactory(), UserFactory()
    fund(investor, "3000.00")
    fund(other, "3000.00")
    services.investment_create(user=investor, loan_id=loan.pk, amount="2500.00")
    services.investment_create(user=other, loan_id=loan.pk, amount="700.00")
    client.force_login(investor)
    response = client.get("/loans/portfolio/")
    assert response.status_code == 200
    text = _text(response)
    assert "Committed, awaiting disbursement" in text
    assert re.search(r'data-total="committed">\s*2,500\.00', response.content.decode())
    assert "700.00" not in text  # another investor's commitment is not shown


def _receipt_path(response):
    """Where a money form went: its receipt address (the page's path, with the form's key as receipt)."""
    path, _, query = response["Location"].partition("?")
    assert query.startswith("receipt="), response["Location"]
    return path


def _receipt_chain(response):
    assert all("?receipt=" in url for url, _ in response.redirect_chain), response.redirect_chain
    return [(url.partition("?")[0], status) for url, status in response.redirect_chain]
