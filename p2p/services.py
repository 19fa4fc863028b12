"""Every write of P2P lending: listings, investments, disbursement, repayments, overdue handling.

Rules (defaults in settings.P2P, DOMAIN.md section 3):
- Terms 1-36 months; the annual rate lies inside the band of the grade the operator assigns at
  approval; origination fee (2%) taken at disbursement; investor service fee (1%) of each payment
  received; penalty interest (0.05% a day) on overdue principal and interest; funding window 14
  days; minimum investment 100 (or exactly what is left to fund, if less); optional partial-funding
  threshold (off by default).
- Borrowing caps (2016 Interim Measures Art. 17): the borrower's principal on this platform
  (loans in review, listed, funded, active or defaulted, including the new one) stays within the
  cap of its kind: organisation 1,000,000, natural person 200,000. Checked at submission and again
  at disbursement, under a lock on the borrower's row.
- Investments: a conditional UPDATE (`funded_amount + x <= amount`) keeps a listing from being
  over-funded under any concurrency; money moves wallet -> the loan's escrow.
- Repayment allocation (Fineract's default): oldest installment first; within it penalties, fees,
  interest, principal. The amount received is then shared out to the notes pro rata to their
  principal, carrying the rounding over the loan's life (p2p/shares.py): each note's cumulative
  receipts stay within a cent of its exact share of everything received so far, no share is
  negative, the shares add up to exactly what was received, and each note gets back exactly its
  principal. Principal and interest (with fees and penalties) are shared separately. The service fee is HALF_EVEN 1% of each note's gross share.
- Penalty interest on each overdue installment's unpaid principal and interest, `unpaid x daily
  rate x days`, accrued exactly (`Installment.penalty_accrued`); what is charged (`penalty_due`) is
  that rounded down to the cent, so no fraction is lost between accruals. It accrues whenever the
  daily sweep runs and, before anything is applied, whenever a repayment is made: the unpaid
  amount is constant between two accruals, so the figure is the same whether the sweep runs
  daily, skips days or runs twice.
- Late fee (Prosper): the greater of LATE_FEE_RATE (5%) of the installment's unpaid principal and
  interest (rounded down to the cent) and LATE_FEE_MINIMUM (15.00), charged once, by the same
  accrual, when the installment is LATE_FEE_AFTER_DAYS (15) days past due; allocated as a fee
  (after penalties, before interest) and passed on to the note holders like interest.
- Full early repayment charges interest to date by 30/360: the remaining principal x annual rate x
  days / 360, the days counted by the 30/360 (bond basis) convention from the previous due date.
- Delinquency: days past due = today - due date of the oldest unpaid installment; buckets 1-30,
  31-60, 61-90, 90+; default after 90 days, write-off at 121.
- Every task-driven posting carries a ledger reference, so a task that runs twice has one effect.
"""

import datetime
import logging
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Min, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Floor, Greatest
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext

from platform_core.accounts.models import Organisation, OrganisationKind, PlatformProperty, User
from platform_core.accounts.services import (
    entity_default,
    entity_require_open,
    kyc_require_verified,
    operator_require,
    organisation_manager_require,
    party_require_money_rights,
    sme_manager_require,
)
from platform_core.audit import audit_record
from platform_core.db import DaysBetween, lock_or_not_found, row_lock, rows_update
from platform_core.enqueue import enqueue_on_commit
from platform_core.errors import ApplicationError
from platform_core.inputs import whole_number
from platform_core.ledger.models import Account
from platform_core.ledger.services import escrow_for, escrow_refund, fee_changes, transaction_post, transfer, wallet_for
from platform_core.money import AMOUNT_PATTERN, ZERO, currencies, parse_amount, quantize
from platform_core.state import transition, transition_many

from . import selectors
from .models import (
    OUTSTANDING,
    TRANSITIONS,
    Grade,
    Installment,
    InstallmentStatus,
    Investment,
    InvestmentStatus,
    Loan,
    LoanStatus,
    Note,
    Repayment,
    RepaymentShare,
    RepaymentSource,
    business_date,
)
from .schedules import days_30_360, schedule_generate
from .shares import cumulative_split

CENT = Decimal("0.01")
logger = logging.getLogger(__name__)


def rules() -> dict:
    return settings.P2P


# --- permissions and state --------------------------------------------------------------------


def _require_borrower_manager(user: User, loan: Loan) -> None:
    organisation_manager_require(
        user,
        loan.borrower_id,
        not_found="No such loan.",
        not_manager="Only the organisation's owners and finance members manage its loans.",
    )


def _lock(loan_id: int) -> Loan:
    return lock_or_not_found(Loan, loan_id, "No such loan.")


def _transition(loan: Loan, to: str, *, actor, note: str = "", fields: tuple = ()) -> Loan:
    return transition(loan, to, transitions=TRANSITIONS, actor=actor, note=note, fields=fields)


# --- borrowing caps ---------------------------------------------------------------------------


def borrower_cap(organisation: Organisation) -> Decimal:
    return rules()["BORROWING_CAP_ORGANISATION"]


def borrower_outstanding(organisation: Organisation, *, excluding: int | None = None) -> Decimal:
    """Principal the borrower owes or has asked for on this platform."""
    loans = Loan.objects.filter(borrower=organisation, status__in=list(OUTSTANDING))
    if excluding:
        loans = loans.exclude(pk=excluding)
    before_disbursement = (
        loans.exclude(status__in=[LoanStatus.ACTIVE, LoanStatus.DEFAULTED]).aggregate(s=Sum("amount"))["s"] or ZERO
    )
    owed = (
        loans.filter(status__in=[LoanStatus.ACTIVE, LoanStatus.DEFAULTED]).aggregate(s=Sum("principal_outstanding"))["s"] or ZERO
    )
    return before_disbursement + owed


def _cap_check(loan: Loan) -> None:
    """Lock the borrower's row (serialising its cap checks) and refuse a loan over the cap."""
    Organisation.objects.select_for_update().filter(pk=loan.borrower_id).first()
    cap = borrower_cap(loan.borrower)
    owed = borrower_outstanding(loan.borrower, excluding=loan.pk)
    if owed + loan.amount > cap:
        raise ApplicationError(
            "borrowing_cap_exceeded",
            f"A borrower may owe at most {cap} on this platform; {owed} is already owed or requested, so at most "
            f"{max(cap - owed, ZERO)} more.",
            field="amount",
        )


# --- listings ---------------------------------------------------------------------------------


def _parse_rate_percent(raw) -> Decimal:
    """A rate is typed as an amount is (platform_core.money.AMOUNT_PATTERN): ASCII digits and a
    point, no exponent, no "_", no full-width digits, no JSON float."""
    text = raw.strip() if isinstance(raw, str) else format(raw, "f") if isinstance(raw, Decimal) else ""
    if not AMOUNT_PATTERN.fullmatch(text):
        raise ApplicationError(
            "invalid_rate", gettext('Give the annual rate in percent, e.g. "12.5".'), field="annual_rate_percent"
        )
    percent = Decimal(text)
    if not percent.is_finite() or percent < 0 or percent > 36 or percent != percent.quantize(Decimal("0.0001")):
        raise ApplicationError(
            "invalid_rate", "The annual rate is 0 to 36 percent, with at most 4 decimals.", field="annual_rate_percent"
        )
    return (percent / 100).quantize(Decimal("0.000001"))


def _loan_clean(data: dict) -> dict:
    amount = parse_amount(data.get("amount"), field="amount")
    if amount < rules()["MIN_AMOUNT"]:
        raise ApplicationError("amount_too_small", f"A loan is at least {rules()['MIN_AMOUNT']}.", field="amount")
    term = whole_number(
        data.get("term_months"),
        field="term_months",
        code="invalid_term",
        low=rules()["TERM_MIN_MONTHS"],
        high=rules()["TERM_MAX_MONTHS"],
        message=gettext("The term is %(low)s to %(high)s months.")
        % {"low": rules()["TERM_MIN_MONTHS"], "high": rules()["TERM_MAX_MONTHS"]},
    )
    method = data.get("method")
    if method not in rules()["METHODS"]:
        raise ApplicationError("invalid_method", "Choose equal installments, equal principal or interest only.", field="method")
    purpose = (data.get("purpose") or "").strip()
    if not purpose:
        raise ApplicationError("invalid_purpose", "Say what the loan is for.", field="purpose")
    rate = _parse_rate_percent(data.get("annual_rate_percent"))
    try:  # the schedule must exist for these terms
        schedule_generate(principal=amount, annual_rate=rate, periods=term, method=method, start_date=datetime.date(2000, 1, 31))
    except ValueError as exc:
        raise ApplicationError("invalid_terms", str(exc), field="amount") from None
    return {"amount": amount, "term_months": term, "method": method, "purpose": purpose[:300], "annual_rate": rate}


LOAN_FIELDS = ("amount", "term_months", "method", "purpose", "annual_rate_percent")


def loan_create(*, user: User, **data) -> Loan:
    sme_manager_require(
        user,
        not_sme="Only SMEs borrow through loan listings.",
        not_manager="Only the organisation's owners and finance members apply for loans.",
    )
    kyc_require_verified(user.organisation)
    entity = entity_default()
    entity_require_open(entity, PlatformProperty.P2P_LENDING)
    fields = _loan_clean(data)
    with transaction.atomic():
        loan = Loan.objects.create(entity=entity, borrower=user.organisation, created_by=user, **fields)
        audit_record(loan, action="created", actor=user, to_value=loan.status)
    return loan


def loan_update(*, user: User, loan_id: int, **data) -> Loan:
    with transaction.atomic():
        loan = _lock(loan_id)
        _require_borrower_manager(user, loan)
        if loan.status != LoanStatus.DRAFT:
            raise ApplicationError("not_editable", "Only a draft can be edited.", status=409)
        merged = {
            "amount": loan.amount,
            "term_months": loan.term_months,
            "method": loan.method,
            "purpose": loan.purpose,
            "annual_rate_percent": loan.annual_rate * 100,
        }
        merged.update({k: v for k, v in data.items() if k in LOAN_FIELDS})
        for name, value in _loan_clean(merged).items():
            setattr(loan, name, value)
        loan.save()
        audit_record(loan, action="edited", actor=user)
    return loan


def loan_submit(*, user: User, loan_id: int) -> Loan:
    with transaction.atomic():
        loan = _lock(loan_id)
        _require_borrower_manager(user, loan)
        if loan.status != LoanStatus.DRAFT:
            raise ApplicationError("invalid_transition", "Only a draft can be submitted.", status=409)
        entity_require_open(loan.entity, PlatformProperty.P2P_LENDING)
        _cap_check(loan)
        return _transition(loan, LoanStatus.IN_REVIEW, actor=user)


def loan_redraft(*, user: User, loan_id: int) -> Loan:
    with transaction.atomic():
        loan = _lock(loan_id)
        _require_borrower_manager(user, loan)
        return _transition(loan, LoanStatus.DRAFT, actor=user)


def loan_approve(*, actor: User, loan_id: int, grade: str) -> Loan:
    """The operator grades the loan and lists it; the rate must lie in the grade's band."""
    operator_require(actor)
    if grade not in Grade.values:
        raise ApplicationError("invalid_grade", f"Choose a grade: {', '.join(Grade.values)}.", field="grade")
    with transaction.atomic():
        loan = _lock(loan_id)
        if loan.status != LoanStatus.IN_REVIEW:
            raise ApplicationError("invalid_transition", "Only a loan in review can be approved.", status=409)
        low, high = rules()["GRADE_RATE_BANDS"][grade]
        if not low <= loan.annual_rate <= high:
            raise ApplicationError(
                "rate_outside_grade_band",
                f"Grade {grade} loans carry {low * 100:.2f}% to {high * 100:.2f}% a year; this one asks {loan.annual_rate * 100:.2f}%.",
                field="grade",
            )
        entity_require_open(loan.entity, PlatformProperty.P2P_LENDING)
        now = timezone.now()
        loan.grade = grade
        loan.listed_at = now
        loan.funding_deadline = now + datetime.timedelta(days=rules()["FUNDING_WINDOW_DAYS"])
        loan.origination_fee_rate = rules()["ORIGINATION_FEE_RATE"]
        loan.service_fee_rate = rules()["INVESTOR_SERVICE_FEE_RATE"]
        return _transition(
            loan,
            LoanStatus.LISTED,
            actor=actor,
            note=f"grade {grade}",
            fields=("grade", "listed_at", "funding_deadline", "origination_fee_rate", "service_fee_rate"),
        )


def loan_reject(*, actor: User, loan_id: int, reason: str) -> Loan:
    operator_require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", "Say why the loan is rejected.", field="reason")
    with transaction.atomic():
        loan = _lock(loan_id)
        loan.rejection_reason = reason
        return _transition(loan, LoanStatus.REJECTED, actor=actor, note=reason, fields=("rejection_reason",))


def loan_withdraw(*, user: User, loan_id: int) -> Loan:
    """The SME withdraws its listing before it is funded; every investment is refunded."""
    with transaction.atomic():
        loan = _lock(loan_id)
        _require_borrower_manager(user, loan)
        _transition(loan, LoanStatus.WITHDRAWN, actor=user, fields=("closed_at",))
        _refund_investments(loan, reason="withdrawn")
    return loan


# --- investments ------------------------------------------------------------------------------


def _held_by(party, loan_id: int):
    qs = Investment.objects.filter(loan_id=loan_id, status=InvestmentStatus.ACTIVE)
    if isinstance(party, Organisation):
        return qs.filter(investor_organisation=party)
    return qs.filter(investor=party, investor_organisation__isnull=True)


def _investment_refusal(loan_id: int, amount: Decimal, now) -> ApplicationError:
    loan = Loan.objects.get(pk=loan_id)
    if loan.status != LoanStatus.LISTED:
        return ApplicationError(
            "loan_not_listed", f"This loan is {loan.get_status_display().lower()}; it takes no investments.", status=409
        )
    if loan.funding_deadline and loan.funding_deadline <= now:
        return ApplicationError("funding_closed", "The funding window has closed.", status=409)
    room = loan.amount - loan.funded_amount
    return ApplicationError("over_funding", f"Only {room} is left to fund on this loan.", field="amount", status=409)


def investment_create(*, user: User, loan_id: int, amount, now=None) -> Investment:
    now = now or timezone.now()
    loan = Loan.objects.filter(selectors.loan_visible(user), pk=loan_id).first()
    if loan is None:
        raise ApplicationError("not_found", "No such loan.", status=404)
    amount = parse_amount(amount, currency=loan.currency)
    party = party_require_money_rights(user)
    kyc_require_verified(party)
    if isinstance(party, Organisation) and party.pk == loan.borrower_id:
        raise ApplicationError("own_loan", "You cannot invest in your own organisation's loan.")
    if isinstance(party, Organisation) and party.kind not in (OrganisationKind.INSTITUTIONAL_INVESTOR, OrganisationKind.FUNDER):
        raise ApplicationError("permission_denied", "Only investors fund loans.")
    if loan.status != LoanStatus.LISTED or (loan.funding_deadline and loan.funding_deadline <= now):
        raise _investment_refusal(loan.pk, amount, now)
    remaining = loan.amount - loan.funded_amount
    minimum = rules()["MIN_INVESTMENT"]
    if amount < minimum and amount != remaining:
        raise ApplicationError(
            "below_minimum_investment",
            f"The minimum investment is {minimum} (or exactly what is left, {remaining}).",
            field="amount",
        )
    with transaction.atomic():
        row_lock(party)  # one investor's investments in turn
        new_investor = not _held_by(party, loan.pk).exists()
        updated = Loan.objects.filter(
            pk=loan.pk, status=LoanStatus.LISTED, funding_deadline__gt=now, funded_amount__lte=F("amount") - amount
        ).update(
            funded_amount=F("funded_amount") + amount,
            investor_count=F("investor_count") + (1 if new_investor else 0),
            updated_at=now,
        )
        if updated != 1:
            raise _investment_refusal(loan.pk, amount, now)
        wallet = wallet_for(party, loan.currency)
        investment = Investment.objects.create(
            loan=loan,
            investor=user,
            investor_organisation=party if isinstance(party, Organisation) else None,
            wallet=wallet,
            amount=amount,
        )
        transfer(
            source=wallet,
            destination=escrow_for(loan, loan.currency),
            amount=amount,
            kind="p2p_investment",
            memo=f"Investment {investment.pk} in loan {loan.pk}",
            actor=user,
            reference=f"p2p:investment:{investment.pk}:in",
        )
        audit_record(investment, action="created", actor=user, to_value=investment.status, data={"amount": str(amount)})
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
        if loan.funded_amount == loan.amount:
            _transition(loan, LoanStatus.FUNDED, actor=None, note="fully funded")
            _disburse_after_commit(loan.pk)
    return investment


def _disburse_after_commit(loan_id: int) -> None:
    from .tasks import loan_disburse_task

    enqueue_on_commit(loan_disburse_task, loan_id)


def _refund_investments(loan: Loan, *, reason: str) -> None:
    """Refund every committed investment of a loan in one balanced transaction (loan row locked)."""
    rows = list(Investment.objects.filter(loan=loan, status=InvestmentStatus.ACTIVE).values_list("pk", "wallet_id", "amount"))
    escrow_refund(
        escrow=escrow_for(loan, loan.currency),
        rows=[(wallet_id, amount) for _, wallet_id, amount in rows],
        kind="p2p_refund",
        memo=f"Loan {loan.pk} {reason}: investments refunded",
        reference=f"p2p:loan:{loan.pk}:refund",
    )
    Investment.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(status=InvestmentStatus.REFUNDED)
    loan.closed_at = timezone.now()
    loan.save(update_fields=["closed_at", "updated_at"])


def listings_close_due(*, now=None) -> int:
    """Listings whose funding window has closed: issue them when the partial-funding threshold is met,
    otherwise expire them and refund every investment."""
    now = now or timezone.now()
    threshold = rules()["PARTIAL_FUNDING_THRESHOLD"]
    closed = 0
    for loan_id in Loan.objects.filter(status=LoanStatus.LISTED, funding_deadline__lte=now).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            loan = _lock(loan_id)
            if loan.status != LoanStatus.LISTED:
                continue
            if threshold is not None and loan.funded_amount > 0 and loan.funded_amount >= quantize(loan.amount * threshold):
                loan.amount = loan.funded_amount
                _transition(
                    loan,
                    LoanStatus.FUNDED,
                    actor=None,
                    note=f"partially funded: issued at {loan.funded_amount}",
                    fields=("amount",),
                )
                _disburse_after_commit(loan.pk)
            else:
                _transition(loan, LoanStatus.EXPIRED, actor=None, note=f"funded {loan.funded_amount} of {loan.amount}")
                _refund_investments(loan, reason="expired")
            closed += 1
    return closed


def loans_awaiting_disbursement(*, now=None, limit: int = 500) -> list[int]:
    """Funded loans whose disbursement task was lost, never sent (broker away) or killed: funded for
    longer than RESUME_STALLED_AFTER, so they are enqueued again."""
    cutoff = (now or timezone.now()) - settings.RESUME_STALLED_AFTER
    return list(
        Loan.objects.filter(status=LoanStatus.FUNDED, updated_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:limit]
    )


# --- disbursement -----------------------------------------------------------------------------


def loan_disburse(*, loan_id: int, now=None) -> Loan | None:
    """Pay the escrow to the borrower (less the origination fee), issue notes, write the schedule.
    Safe to run twice: a loan that is no longer `funded` is left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        loan = Loan.objects.select_for_update().filter(pk=loan_id).first()
        if loan is None or loan.status != LoanStatus.FUNDED:
            return None
        try:
            _cap_check(loan)
        except ApplicationError as exc:
            _transition(loan, LoanStatus.EXPIRED, actor=None, note=f"not disbursed: {exc.message}")
            _refund_investments(loan, reason="not disbursed (borrowing cap)")
            return loan
        escrow = escrow_for(loan, loan.currency)
        fee = quantize(loan.amount * (loan.origination_fee_rate or ZERO), loan.currency)
        changes = [(escrow, -(loan.amount - fee)), (wallet_for(loan.borrower, loan.currency), loan.amount - fee)]
        if fee:
            changes += fee_changes(source=escrow, amount=fee)
        transaction_post(
            kind="p2p_disbursement",
            changes=changes,
            memo=f"Disbursement of loan {loan.pk}",
            reference=f"p2p:loan:{loan.pk}:disburse",
        )
        investments = list(Investment.objects.filter(loan=loan, status=InvestmentStatus.ACTIVE).order_by("pk"))
        Note.objects.bulk_create(
            [
                Note(
                    loan=loan,
                    investment=i,
                    holder_id=i.investor_id,
                    holder_organisation_id=i.investor_organisation_id,
                    wallet_id=i.wallet_id,
                    principal=i.amount,
                    principal_outstanding=i.amount,
                )
                for i in investments
            ]
        )
        Investment.objects.filter(pk__in=[i.pk for i in investments]).update(status=InvestmentStatus.ISSUED)
        start = business_date(now)
        unit = _minor_unit(loan.currency)
        schedule = schedule_generate(
            principal=loan.amount,
            annual_rate=loan.annual_rate,
            periods=loan.term_months,
            method=loan.method,
            start_date=start,
            minor_unit=unit,
        )
        Installment.objects.bulk_create(
            [
                Installment(
                    loan=loan, number=row.number, due_date=row.due_date, principal_due=row.principal, interest_due=row.interest
                )
                for row in schedule
            ]
        )
        loan.disbursed_at, loan.origination_fee, loan.principal_outstanding = now, fee, loan.amount
        loan.first_due_date = schedule[0].due_date
        _transition(
            loan,
            LoanStatus.ACTIVE,
            actor=None,
            note=f"disbursed {loan.amount - fee}, fee {fee}",
            fields=("disbursed_at", "origination_fee", "principal_outstanding", "first_due_date"),
        )
    return loan


# --- repayments -------------------------------------------------------------------------------


def _minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currencies()[currency])


def _allocate(installments: list[Installment], amount: Decimal) -> dict[str, Decimal]:
    """Apply `amount` to installments (oldest first): penalty, fee, interest, principal."""
    left = amount
    parts = {"penalty": ZERO, "fee": ZERO, "interest": ZERO, "principal": ZERO}
    for inst in installments:
        for part in ("penalty", "fee", "interest", "principal"):
            due = getattr(inst, f"{part}_due") - getattr(inst, f"{part}_paid")
            take = min(due, left)
            if take > 0:
                setattr(inst, f"{part}_paid", getattr(inst, f"{part}_paid") + take)
                parts[part] += take
                left -= take
        if inst.outstanding == 0 and inst.status != InstallmentStatus.PAID:
            inst.status = InstallmentStatus.PAID
            inst.paid_at = timezone.now()
        if left == 0:
            break
    return parts


def _due_now(loan: Loan, today: datetime.date) -> Decimal:
    return sum(
        (i.outstanding for i in loan.installments.filter(due_date__lte=today).exclude(status=InstallmentStatus.PAID)), ZERO
    )


def _total_outstanding(loan: Loan) -> Decimal:
    return sum((i.outstanding for i in loan.installments.exclude(status=InstallmentStatus.PAID)), ZERO)


def _repayment_post(
    *, loan: Loan, payer_wallet: Account, amount: Decimal, source: str, actor, reference: str | None, now
) -> Repayment:
    """Allocate, share out and post one repayment (loan row locked by the caller)."""
    # locked: the daily sweep's UPDATE of these rows waits for this repayment (and vice versa)
    installments = list(loan.installments.select_for_update().exclude(status=InstallmentStatus.PAID).order_by("number"))
    parts = _allocate(installments, amount)
    notes = list(Note.objects.filter(loan=loan).order_by("pk"))
    weights, unit = [n.principal for n in notes], _minor_unit(loan.currency)
    principal_shares = cumulative_split(
        total=sum((n.received_principal for n in notes), parts["principal"]),
        received=[n.received_principal for n in notes],
        weights=weights,
        unit=unit,
    )
    other_shares = cumulative_split(
        total=sum((n.received_interest for n in notes), parts["penalty"] + parts["fee"] + parts["interest"]),
        received=[n.received_interest for n in notes],
        weights=weights,
        unit=unit,
    )
    fee_rate = loan.service_fee_rate or ZERO
    shares, credits = [], defaultdict(Decimal)
    for note, principal, other in zip(notes, principal_shares, other_shares, strict=True):
        gross = principal + other
        fee = (gross * fee_rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        shares.append((note, gross, principal, other, fee))
        credits[note.wallet_id] += gross - fee
    service_fee = sum((s[4] for s in shares), ZERO)
    escrow = escrow_for(loan, loan.currency)
    # the payment passes through the loan's escrow: in from the payer, out to the holders and the fee
    changes = [(payer_wallet, -amount), *((pk, net) for pk, net in credits.items() if net)]
    if service_fee:
        changes += [(escrow, service_fee), *fee_changes(source=escrow, amount=service_fee)]
    txn = transaction_post(
        kind="p2p_repayment", changes=changes, memo=f"Repayment of loan {loan.pk}", actor=actor, reference=reference
    )
    repayment = Repayment.objects.create(
        loan=loan,
        source=source,
        paid_by=actor,
        payer_wallet=payer_wallet,
        amount=amount,
        penalty_part=parts["penalty"],
        fee_part=parts["fee"],
        interest_part=parts["interest"],
        principal_part=parts["principal"],
        service_fee=service_fee,
        is_compensatory=source == RepaymentSource.GUARANTOR,
        reference=reference,
        transaction=txn,
    )
    Installment.objects.bulk_update(
        installments, ["principal_paid", "interest_paid", "fee_paid", "penalty_paid", "status", "paid_at"]
    )
    for note, _gross, principal, other, fee in shares:
        note.principal_outstanding -= principal
        note.received_principal += principal
        note.received_interest += other
        note.fees_paid += fee
    rows_update(
        Note,
        "principal_outstanding",
        {n.pk: n.principal_outstanding for n in notes},
        *((name, {n.pk: getattr(n, name) for n in notes}) for name in ("received_principal", "received_interest", "fees_paid")),
    )
    RepaymentShare.objects.bulk_create(
        [
            RepaymentShare(repayment=repayment, note=n, gross=g, principal=p, interest=o, service_fee=f, net=g - f)
            for n, g, p, o, f in shares
        ],
        batch_size=1000,
    )
    loan.principal_outstanding -= parts["principal"]
    loan.save(update_fields=["principal_outstanding", "updated_at"])
    audit_record(repayment, action="created", actor=actor, data={k: str(v) for k, v in parts.items()})
    if not loan.installments.exclude(status=InstallmentStatus.PAID).exists():
        loan.closed_at = now
        _transition(loan, LoanStatus.REPAID, actor=actor, note="every installment paid", fields=("closed_at",))
    return repayment


def repayment_make(*, user: User, loan_id: int, amount=None, now=None) -> Repayment:
    """The borrower repays from its wallet: `amount`, or (None) what is due now. More than is due
    pays the next installments early; more than everything outstanding is refused."""
    now = now or timezone.now()
    with transaction.atomic():
        loan = _lock(loan_id)
        _require_borrower_manager(user, loan)
        party = party_require_money_rights(user)
        kyc_require_verified(party)
        return _repay(loan=loan, payer=party, amount=amount, source=RepaymentSource.BORROWER, actor=user, now=now)


def _repay(*, loan: Loan, payer, amount, source: str, actor, now, reference: str | None = None) -> Repayment:
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
        raise ApplicationError(
            "loan_not_active", f"This loan is {loan.get_status_display().lower()}; nothing to repay.", status=409
        )
    charges_accrue(loan.installments.all(), today=business_date(now))
    outstanding = _total_outstanding(loan)
    if amount is None or amount == "":
        amount = _due_now(loan, business_date(now))
        if amount == 0:
            raise ApplicationError(
                "nothing_due", "Nothing is due now; give an amount to repay early.", field="amount", status=409
            )
    else:
        amount = parse_amount(amount, currency=loan.currency)
    if amount > outstanding:
        if source == RepaymentSource.GUARANTOR:  # a third party: the loan's balance is not theirs to learn
            raise ApplicationError("overpayment", gettext("This is more than the loan has outstanding."), field="amount")
        raise ApplicationError(
            "overpayment",
            f"Only {outstanding} is outstanding (use full early repayment to settle with interest to date).",
            field="amount",
        )
    return _repayment_post(
        loan=loan,
        payer_wallet=wallet_for(payer, loan.currency),
        amount=amount,
        source=source,
        actor=actor,
        reference=reference,
        now=now,
    )


def guarantor_pay(*, user: User, loan_id: int, amount=None, now=None) -> Repayment:
    """A third party pays for the borrower: recorded as a compensatory payment (disclosed)."""
    now = now or timezone.now()
    party = party_require_money_rights(user)
    kyc_require_verified(party)
    with transaction.atomic():
        loan = lock_or_not_found(Loan.objects.filter(selectors.loan_visible(user)), loan_id, "No such loan.")
        if isinstance(party, Organisation) and party.pk == loan.borrower_id:
            raise ApplicationError("not_a_third_party", "The borrower repays through its own repayment, not as a guarantor.")
        return _repay(loan=loan, payer=party, amount=amount, source=RepaymentSource.GUARANTOR, actor=user, now=now)


def loan_payoff_quote(loan: Loan, today: datetime.date) -> dict[str, Decimal]:
    """Full early repayment as of `today`: everything due so far (with penalties and fees accrued to
    today), plus interest to date on the remaining principal, plus that principal. Interest to date
    is 30/360: remaining principal x annual rate x days / 360, the days from the previous due date
    (or the disbursement) by the 30/360 bond basis, never more than the current installment's
    interest. Only reads: the accrual it shows is rolled back (a repayment makes it for real)."""
    with transaction.atomic():
        preview = transaction.savepoint()
        charges_accrue(loan.installments.all(), today=today)
        quote = _payoff_quote(loan, today)
        transaction.savepoint_rollback(preview)
    return quote


def _payoff_quote(loan: Loan, today: datetime.date) -> dict[str, Decimal]:
    unpaid = list(loan.installments.exclude(status=InstallmentStatus.PAID).order_by("number"))
    due = [i for i in unpaid if i.due_date <= today]
    future = [i for i in unpaid if i.due_date > today]
    arrears = sum((i.outstanding for i in due), ZERO)
    remaining_principal = sum((i.principal_due - i.principal_paid for i in future), ZERO)
    interest = ZERO
    if future:
        current = future[0]
        previous = loan.installments.filter(number=current.number - 1).values_list(
            "due_date", flat=True
        ).first() or business_date(loan.disbursed_at)
        days = days_30_360(previous, today) if today > previous else 0
        interest = (remaining_principal * loan.annual_rate * days / 360).quantize(CENT, rounding=ROUND_HALF_EVEN)
        interest = min(interest, current.interest_due - current.interest_paid)
    return {
        "arrears": arrears,
        "interest_to_date": interest,
        "principal": remaining_principal,
        "total": arrears + interest + remaining_principal,
    }


def loan_repay_in_full(*, user: User, loan_id: int, now=None) -> Repayment:
    now = now or timezone.now()
    today = business_date(now)
    with transaction.atomic():
        loan = _lock(loan_id)
        _require_borrower_manager(user, loan)
        party = party_require_money_rights(user)
        kyc_require_verified(party)
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
            raise ApplicationError("loan_not_active", "This loan is not active.", status=409)
        charges_accrue(loan.installments.all(), today=today)
        quote = _payoff_quote(loan, today)
        future = list(loan.installments.filter(due_date__gt=today).exclude(status=InstallmentStatus.PAID).order_by("number"))
        if future:
            # the current installment carries all remaining principal and the interest to date; later ones fall away
            current, later = future[0], future[1:]
            current.principal_due = current.principal_paid + quote["principal"]
            current.interest_due = current.interest_paid + quote["interest_to_date"]
            for inst in later:
                inst.principal_due, inst.interest_due = inst.principal_paid, inst.interest_paid
                inst.status, inst.paid_at = InstallmentStatus.PAID, now
            Installment.objects.bulk_update(future, ["principal_due", "interest_due", "status", "paid_at"])
        audit_record(loan, action="early_repayment_quote", actor=user, data={k: str(v) for k, v in quote.items()})
        return _repay(loan=loan, payer=party, amount=quote["total"], source=RepaymentSource.BORROWER, actor=user, now=now)


def repayments_collect_due(*, now=None, chunk: int = 500) -> int:
    """Auto-debit: on and after each due date, take what is due from the borrower's wallet when the
    wallet holds all of it. Walks every loan with something due, `chunk` loans at a time in loan
    order (a loan that cannot pay never holds up the ones after it). One effect per loan and day
    however often it runs: the repayment's reference names the loan and the day."""
    now = now or timezone.now()
    today = business_date(now)
    due_loans = (
        Installment.objects.filter(due_date__lte=today, loan__status__in=[LoanStatus.ACTIVE, LoanStatus.DEFAULTED])
        .exclude(status=InstallmentStatus.PAID)
        .values_list("loan_id", flat=True)
        .distinct()
        .order_by("loan_id")
    )
    collected, failed, after = 0, [], 0
    while loan_ids := list(due_loans.filter(loan_id__gt=after)[:chunk]):
        after = loan_ids[-1]
        for loan_id in loan_ids:
            try:
                collected += _auto_debit(loan_id, today=today, now=now)
            except ApplicationError:  # the wallet was emptied meanwhile: try again at the next run
                continue
            except Exception:  # any other failure is this loan's alone: logged, reported, never stops the others
                logger.exception("Auto-debit of loan %s failed", loan_id)
                failed.append(loan_id)
    if failed:
        raise AutoDebitFailures(collected, failed)
    return collected


class AutoDebitFailures(Exception):
    """Raised after an auto-debit run that collected from every loan it could: these loans failed."""

    def __init__(self, collected: int, loan_ids: list[int]):
        self.collected, self.loan_ids = collected, loan_ids
        shown = ", ".join(str(pk) for pk in loan_ids[:50]) + (" ..." if len(loan_ids) > 50 else "")
        super().__init__(f"{collected} loan(s) debited; auto-debit failed for {len(loan_ids)} loan(s): {shown}")


def _auto_debit(loan_id: int, *, today: datetime.date, now) -> int:
    with transaction.atomic():
        loan = _lock(loan_id)
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
            return 0
        reference = f"p2p:loan:{loan.pk}:auto:{today.isoformat()}"
        if Repayment.objects.filter(reference=reference).exists():
            return 0
        charges_accrue(loan.installments.all(), today=today)
        due = _due_now(loan, today)
        wallet = wallet_for(loan.borrower, loan.currency)
        if due == 0 or wallet.balance < due:
            return 0
        _repayment_post(
            loan=loan,
            payer_wallet=wallet,
            amount=due,
            source=RepaymentSource.AUTO_DEBIT,
            actor=None,
            reference=reference,
            now=now,
        )
        return 1


# --- overdue ----------------------------------------------------------------------------------


def overdue_sweep(*, today: datetime.date | None = None) -> dict:
    """The daily job, in one transaction: mark overdue installments and accrue their penalty
    interest (one UPDATE), then default loans more than 90 days past due and write them off after
    120 (a bounded batch each, set-based; `more` says the task should run again).
    Days past due and buckets need no ageing pass: they follow from the oldest unpaid installment
    (`Loan.days_past_due`).
    Idempotent for a given day: penalty accrues up to `today` once, recorded in `penalty_through`."""
    today = today or business_date()
    running = Loan.objects.filter(status__in=[LoanStatus.ACTIVE, LoanStatus.DEFAULTED]).values("pk")
    with transaction.atomic():
        penalised = charges_accrue(Installment.objects.filter(loan_id__in=running), today=today)
        defaulted, written_off, more = _loans_default_and_write_off(today)
    return {"penalised": penalised, "defaulted": defaulted, "written_off": written_off, "more": more}


def charges_accrue(installments, *, today: datetime.date) -> int:
    """Bring penalty interest and late fees of these installments (a queryset) up to `today`, in one
    UPDATE: the installments that fell due before `today` and are unpaid are marked overdue, accrue
    `unpaid principal and interest x daily rate x days since the last accrual` exactly (the charge
    is that rounded down to the cent), and, once LATE_FEE_AFTER_DAYS past due, are charged the late
    fee once. Run by the daily sweep over every running loan and by every repayment over its loan
    before it is applied, so the unpaid amount is constant between two accruals and the figures do
    not depend on how often the sweep runs. Idempotent for a day: the first accrual of a day does
    it all (the late fee depends only on the date and the unpaid amount, which only a repayment -
    accruing first - changes). Returns how many installments accrued."""
    unpaid = F("principal_due") - F("principal_paid") + F("interest_due") - F("interest_paid")
    accrued = F("penalty_accrued") + unpaid * DaysBetween(Value(today), Coalesce("penalty_through", "due_date")) * Value(
        rules()["PENALTY_DAILY_RATE"]
    )
    changes = {
        "status": InstallmentStatus.OVERDUE,
        "penalty_through": today,
        "penalty_accrued": accrued,
        "penalty_due": Floor(accrued * Value(100)) / Value(100),
    }
    rate, minimum = rules()["LATE_FEE_RATE"], rules()["LATE_FEE_MINIMUM"]
    if rate or minimum:
        late_fee_now = Q(
            GreaterThan(unpaid, Value(0)),
            late_fee_charged_on__isnull=True,
            due_date__lte=today - datetime.timedelta(days=rules()["LATE_FEE_AFTER_DAYS"]),
        )
        fee = Greatest(Floor(unpaid * Value(rate * 100)) / Value(100), Value(minimum))
        changes["fee_due"] = Case(When(late_fee_now, then=F("fee_due") + fee), default=F("fee_due"))
        changes["late_fee_charged_on"] = Case(When(late_fee_now, then=Value(today)), default=F("late_fee_charged_on"))
    return (
        installments.filter(status__in=[InstallmentStatus.PENDING, InstallmentStatus.OVERDUE], due_date__lt=today)
        .filter(Q(penalty_through__isnull=True) | Q(penalty_through__lt=today))
        .update(**changes)
    )


def _loans_default_and_write_off(today: datetime.date) -> tuple[int, int, bool]:
    """Default running loans more than DEFAULT_AFTER_DAYS past due and write off those more than
    WRITE_OFF_AFTER_DAYS - 1, a bounded batch of each, set-based. One GROUP BY finds them from
    their overdue installments (just marked: every late installment of a running loan is `overdue`
    now), starting from the late installments, a small part of the book. The flag: more remain and
    this run moved some (run again)."""
    default_after, write_off_after = rules()["DEFAULT_AFTER_DAYS"], rules()["WRITE_OFF_AFTER_DAYS"] - 1
    late_loans = (
        Installment.objects.filter(
            status=InstallmentStatus.OVERDUE,
            due_date__lt=today - datetime.timedelta(days=default_after),
            loan__status__in=[LoanStatus.ACTIVE, LoanStatus.DEFAULTED],
        )
        .values("loan_id", "loan__status")
        .annotate(oldest=Min("due_date"))
        .order_by("loan_id")
        .values_list("loan_id", "loan__status", "oldest")
    )
    batch = rules()["SWEEP_BATCH"]
    late_loans = list(late_loans)
    to_default = [pk for pk, status, _ in late_loans if status == LoanStatus.ACTIVE][:batch]
    defaulted = _loans_move(to_default, LoanStatus.ACTIVE, LoanStatus.DEFAULTED, days=default_after, stamp="defaulted_at")
    now_defaulted = set(to_default)
    to_write_off = [
        pk
        for pk, status, due in late_loans
        if (today - due).days > write_off_after and (status == LoanStatus.DEFAULTED or pk in now_defaulted)
    ]
    written_off = _loans_move(
        to_write_off[:batch], LoanStatus.DEFAULTED, LoanStatus.WRITTEN_OFF, days=write_off_after, stamp="written_off_at"
    )
    more_to_default = sum(1 for _, status, _ in late_loans if status == LoanStatus.ACTIVE) > batch
    more = more_to_default or len(to_write_off) > batch
    # Run again only while this run moved something: loans held by other transactions (skipped,
    # not waited for) are taken by tomorrow's sweep rather than by a task spinning on them now.
    return defaulted, written_off, more and defaulted + written_off > 0


def _loans_move(loan_ids: list[int], from_status: str, to_status: str, *, days: int, stamp: str) -> int:
    """Move those of these loans still in `from_status`, set-based (platform_core.state.transition_many)."""
    if not loan_ids:
        return 0
    return transition_many(
        Loan.objects.filter(pk__in=loan_ids, status=from_status),
        to_status,
        transitions=TRANSITIONS,
        note=f"more than {days} days past due",
        extra={stamp: timezone.now()},
    )


def overdue_sweep_unfinished(result: dict) -> bool:
    """True when more loans were due to default or be written off than one batch: run the sweep again."""
    return result["more"]
