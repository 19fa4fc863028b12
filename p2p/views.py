"""Server-rendered P2P lending pages. Each view parses input, calls one service (or selector) and
renders the result; every rule lives in p2p/services.py and p2p/selectors.py.

Who sees what: the selectors filter by the user. A loan that is not the user's to see (another
SME's draft) is a 404, never a 403 that would confirm it exists; the borrower's own pages and
actions are a 404 for anyone outside the borrowing organisation; the schedule is shown only to
those selectors.loan_schedule allows (the borrower, note holders, staff).

Money-moving forms (invest, repay, repay in full) run through platform_core.web.actions
money_form_run with the form's hidden key, as every money form does: the same form sent again (a
double click, or Back and the button again: money_form_done succeeds onto a receipt address) moves
money once, and after a refusal the corrected form carries a fresh key.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from platform_core.accounts.models import Role
from platform_core.accounts.services import MANAGER_ROLES
from platform_core.errors import ApplicationError
from platform_core.web.actions import flash_service_call, money_form_done, money_form_run, raise_if_not_found
from platform_core.web.forms import form_add_application_error

from . import selectors, services
from .forms import InvestForm, LoanFilterForm, LoanForm, PayoffForm, RepaymentForm
from .models import Installment, InstallmentStatus, Loan, LoanStatus

PAGE_SIZE = 12
MINE_PAGE_SIZE = 25
REPAYABLE = (LoanStatus.ACTIVE, LoanStatus.DEFAULTED)
ZERO = Decimal("0.00")


# --- helpers ----------------------------------------------------------------------------------


def _loan_or_404(request, loan_id: int) -> Loan:
    loan = selectors.loan_get(user=request.user, loan_id=loan_id)
    if loan is None:
        raise Http404("No such loan.")
    return loan


def _borrows(user, loan: Loan) -> bool:
    """The user belongs to the borrowing organisation (the services check who may act for it)."""
    return user.is_authenticated and user.organisation_id is not None and user.organisation_id == loan.borrower_id


def _own_or_404(request, loan_id: int) -> Loan:
    """A loan of the user's own organisation; anyone else's (even a listed one) is a 404."""
    loan = _loan_or_404(request, loan_id)
    if not _borrows(request.user, loan):
        raise Http404("No such loan.")
    return loan


def _is_staff(user) -> bool:
    return user.is_authenticated and (user.is_operator or user.is_regulator)


def _with_rate(loans):
    """The annual rate in percent, for display (the model stores a fraction)."""
    for loan in loans:
        loan.rate_percent = loan.annual_rate * 100
    return loans


def _rate_input(loan: Loan) -> str:
    """The stored fraction as the percent the SME typed: 0.125000 -> "12.5"."""
    return format((loan.annual_rate * 100).normalize(), "f")


def _platform_terms() -> dict:
    """The rule pack's numbers that the pages quote to their readers (settings.P2P)."""
    rules = services.rules()
    return {
        "min_investment": rules["MIN_INVESTMENT"],
        "window_days": rules["FUNDING_WINDOW_DAYS"],
        "service_fee_percent": rules["INVESTOR_SERVICE_FEE_RATE"] * 100,
        "origination_fee_percent": rules["ORIGINATION_FEE_RATE"] * 100,
        "borrowing_cap": rules["BORROWING_CAP_ORGANISATION"],
        "term_min": rules["TERM_MIN_MONTHS"],
        "term_max": rules["TERM_MAX_MONTHS"],
        "grade_bands": [(grade, low * 100, high * 100) for grade, (low, high) in rules["GRADE_RATE_BANDS"].items()],
    }


# --- investors: browse, the loan page, invest -------------------------------------------------


def loan_list(request):
    filter_form = LoanFilterForm(request.GET)
    loans = selectors.loan_list(user=request.user, **filter_form.filters())
    page = Paginator(loans, PAGE_SIZE).get_page(request.GET.get("page"))
    _with_rate(page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "p2p/loan_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "now": timezone.now(),
            "query": query.urlencode(),
            "terms": _platform_terms(),
        },
    )


def _detail_page(request, loan: Loan, *, invest_form=None, repay_form=None, payoff_form=None, status=200):
    user = request.user
    now = timezone.now()
    borrows = _borrows(user, loan)
    staff = _is_staff(user)
    open_for_investment = loan.status == LoanStatus.LISTED and loan.funding_deadline is not None and loan.funding_deadline > now
    if invest_form is None and open_for_investment and user.is_authenticated and not borrows and not staff:
        invest_form = InvestForm()
    schedule = selectors.loan_schedule(user=user, loan=loan) if user.is_authenticated else None
    schedule = list(schedule) if schedule is not None else None
    acts = borrows and user.member_role in MANAGER_ROLES  # a viewer of the borrower only looks
    repayable = acts and loan.status in REPAYABLE
    quote = services.loan_payoff_quote(loan, services.business_date()) if repayable else None
    _with_rate([loan])
    return render(
        request,
        "p2p/loan_detail.html",
        {
            "loan": loan,
            "now": now,
            "borrows": borrows,
            "acts": acts,
            "open_for_investment": open_for_investment,
            "invest_form": invest_form,
            "schedule": schedule,
            "schedule_totals": _schedule_totals(schedule) if schedule else None,
            "repayments": _with_charges(loan.repayments.order_by("-created_at", "-pk")[:100]) if borrows or staff else None,
            "my_notes": list(selectors.note_list(user=user).filter(loan=loan)) if user.is_authenticated and not borrows else [],
            "repayable": repayable,
            "next_installment": next((i for i in schedule or () if i.status != InstallmentStatus.PAID), None),
            "left_to_fund": loan.amount - loan.funded_amount,
            "quote": quote,
            "due_form": RepaymentForm() if repayable else None,  # the "what is due" button: its own key, no amount
            "repay_form": repay_form or (RepaymentForm() if repayable else None),
            "payoff_form": payoff_form or (PayoffForm() if repayable else None),
            "terms": _platform_terms(),
        },
        status=status,
    )


def _schedule_totals(schedule: list[Installment]) -> dict:
    """Column totals; each installment also gets `charges_due` (penalty and fees, one column)."""
    for inst in schedule:
        inst.charges_due = inst.penalty_due + inst.fee_due
    parts = ("principal_due", "interest_due", "charges_due")
    totals = {part: sum((getattr(i, part) for i in schedule), ZERO) for part in parts}
    totals["paid"] = sum((i.total_paid for i in schedule), ZERO)
    totals["outstanding"] = sum((i.outstanding for i in schedule), ZERO)
    return totals


def _with_charges(repayments) -> list:
    repayments = list(repayments)
    for repayment in repayments:
        repayment.charges = repayment.penalty_part + repayment.fee_part
    return repayments


def loan_detail(request, loan_id: int):
    return _detail_page(request, _loan_or_404(request, loan_id))


@login_required
@require_POST
def investment_create(request, loan_id: int):
    loan = _loan_or_404(request, loan_id)
    form = InvestForm(request.POST)
    if form.is_valid():
        amount = form.cleaned_data["amount"]

        def run():
            investment = services.investment_create(user=request.user, loan_id=loan.pk, amount=amount)
            return 201, {"id": investment.pk, "amount": str(investment.amount), "currency": loan.currency}

        done = money_form_run(request, form, payload={"amount": amount}, run=run)
        if done is not None:
            body, replayed = done
            note = " (this form was already submitted; it was recorded once)" if replayed else ""
            messages.success(
                request, f"Your investment of {body['amount']} {body['currency']} in loan {loan.pk} is recorded{note}."
            )
            return money_form_done(reverse("p2p:loan-detail", args=[loan.pk]), form)
    loan.refresh_from_db()  # funding progress as it is now
    return _detail_page(request, loan, invest_form=form, status=400)


# --- the investor's portfolio -----------------------------------------------------------------


@login_required
def portfolio(request):
    book = selectors.portfolio(user=request.user)
    notes = book["notes"]
    _with_rate([note.loan for note in notes])  # each note its own Loan instance
    overdue = {note.pk for note in book["overdue"]}
    received = book["received"]
    return render(
        request,
        "p2p/portfolio.html",
        {
            "notes": notes,
            "commitments": book["commitments"],
            "committed": sum((i.amount for i in book["commitments"]), ZERO),
            "overdue_ids": overdue,
            "overdue_count": len(overdue),
            "received": received,
            "received_net": received["principal"] + received["interest"] - received["fees"],
            "invested": sum((n.principal for n in notes), ZERO),
            "outstanding": sum((n.principal_outstanding for n in notes), ZERO),
            "expected_remaining": book["expected_remaining"],
            "terms": _platform_terms(),
        },
    )


# --- the SME: listing form, submit, redraft, withdraw -----------------------------------------


def _require_sme(request) -> bool:
    if request.user.role != Role.SME or request.user.organisation_id is None:
        messages.info(request, "Only SMEs borrow through loan listings; sign up your business to apply.")
        return False
    return True


def _require_manager(request) -> None:
    """The pages that only change things (create, edit, cancel, withdraw) are for the
    organisation's owners and finance members: a viewer is refused, not shown a form that can
    only refuse it."""
    if request.user.member_role not in MANAGER_ROLES:
        raise PermissionDenied("Only the organisation's owners and finance members do this.")


def _form_page(request, form, loan=None, status=200):
    return render(request, "p2p/loan_form.html", {"form": form, "loan": loan, "terms": _platform_terms()}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def loan_create(request):
    if not _require_sme(request):
        return redirect("p2p:loan-list")
    _require_manager(request)
    form = LoanForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                loan = services.loan_create(user=request.user, **form.loan_fields())
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(request, "Draft saved: only your organisation sees it. Check it and submit it for review.")
                return redirect("p2p:loan-detail", loan_id=loan.pk)
        return _form_page(request, form, status=400)
    return _form_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def loan_edit(request, loan_id: int):
    loan = _own_or_404(request, loan_id)
    _require_manager(request)
    if loan.status != LoanStatus.DRAFT:
        messages.info(request, f"This loan is {loan.get_status_display().lower()}; only a draft can be edited.")
        return redirect("p2p:loan-detail", loan_id=loan.pk)
    initial = {
        "amount": loan.amount,
        "term_months": loan.term_months,
        "annual_rate_percent": _rate_input(loan),
        "method": loan.method,
        "purpose": loan.purpose,
    }
    form = LoanForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.loan_update(user=request.user, loan_id=loan.pk, **form.loan_fields())
            except ApplicationError as exc:
                raise_if_not_found(exc)
                form_add_application_error(form, exc)
            else:
                messages.success(request, "Draft saved.")
                return redirect("p2p:loan-detail", loan_id=loan.pk)
        return _form_page(request, form, loan, status=400)
    return _form_page(request, form, loan)


@login_required
@require_POST
def loan_submit(request, loan_id: int):
    loan = _own_or_404(request, loan_id)
    flash_service_call(
        request,
        lambda: services.loan_submit(user=request.user, loan_id=loan.pk),
        "Submitted for review. An operator will grade and list it, or tell you what to change.",
    )
    return redirect("p2p:loan-detail", loan_id=loan.pk)


@login_required
@require_POST
def loan_redraft(request, loan_id: int):
    loan = _own_or_404(request, loan_id)
    done = flash_service_call(
        request, lambda: services.loan_redraft(user=request.user, loan_id=loan.pk), "Back to draft: edit it and submit it again."
    )
    return redirect("p2p:loan-edit" if done else "p2p:loan-detail", loan_id=loan.pk)


@login_required
@require_http_methods(["GET", "POST"])
def loan_withdraw(request, loan_id: int):
    loan = _own_or_404(request, loan_id)
    _require_manager(request)
    if request.method == "POST":
        done = flash_service_call(
            request,
            lambda: services.loan_withdraw(user=request.user, loan_id=loan.pk),
            "Listing withdrawn. Every investor is refunded.",
        )
        return redirect("p2p:loan-detail" if done else "p2p:loan-withdraw", loan_id=loan.pk)
    if loan.status != LoanStatus.LISTED:
        messages.info(
            request, f"This loan is {loan.get_status_display().lower()}; only a listing that is funding can be withdrawn."
        )
        return redirect("p2p:loan-detail", loan_id=loan.pk)
    return render(request, "p2p/loan_withdraw.html", {"loan": loan})


# --- the SME: my loans, repayments ------------------------------------------------------------


@login_required
def loan_mine(request):
    if not _require_sme(request):
        return redirect("p2p:loan-list")
    page = Paginator(selectors.loan_list(user=request.user, mine=True), MINE_PAGE_SIZE).get_page(request.GET.get("page"))
    _with_rate(page)
    next_due = selectors.loans_next_due(loan_ids=[loan.pk for loan in page])
    for loan in page:
        loan.next_due = next_due.get(loan.pk)
    return render(request, "p2p/loan_mine.html", {"page": page, "now": timezone.now()})


def _repayment_body(repayment) -> dict:
    return {
        "id": repayment.pk,
        "amount": str(repayment.amount),
        "principal": str(repayment.principal_part),
        "interest": str(repayment.interest_part),
        "penalty": str(repayment.penalty_part + repayment.fee_part),
        "currency": repayment.loan.currency,
        "loan_status": repayment.loan.status,
    }


def _repaid_message(body: dict, replayed: bool) -> str:
    penalty = f", {body['penalty']} penalties and fees" if Decimal(body["penalty"]) else ""
    message = (
        f"Repayment of {body['amount']} {body['currency']} recorded: {body['interest']} interest, "
        f"{body['principal']} principal{penalty}."
    )
    if body["loan_status"] == LoanStatus.REPAID:
        message += " The loan is repaid in full."
    if replayed:
        message += " (This form was already submitted; the money moved once.)"
    return message


@login_required
@require_POST
def repayment_make(request, loan_id: int):
    loan = _own_or_404(request, loan_id)
    form = RepaymentForm(request.POST)  # the amount form, or the "what is due" button (no amount)
    if form.is_valid():
        amount = form.cleaned_data["amount"] or None  # empty: what is due now

        def run():
            repayment = services.repayment_make(user=request.user, loan_id=loan.pk, amount=amount)
            return 201, _repayment_body(repayment)

        done = money_form_run(request, form, payload={"amount": amount}, run=run)
        if done is not None:
            messages.success(request, _repaid_message(*done))
            return money_form_done(reverse("p2p:loan-detail", args=[loan.pk]), form)
    loan.refresh_from_db()
    return _detail_page(request, loan, repay_form=form, status=400)


@login_required
@require_POST
def loan_repay_in_full(request, loan_id: int):
    loan = _own_or_404(request, loan_id)
    form = PayoffForm(request.POST)
    if form.is_valid():

        def run():
            repayment = services.loan_repay_in_full(user=request.user, loan_id=loan.pk)
            return 201, _repayment_body(repayment)

        done = money_form_run(request, form, payload={}, run=run)
        if done is not None:
            messages.success(request, _repaid_message(*done))
            return money_form_done(reverse("p2p:loan-detail", args=[loan.pk]), form)
    loan.refresh_from_db()
    return _detail_page(request, loan, payoff_form=form, status=400)
