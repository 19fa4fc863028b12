"""Reads of P2P lending, each filtered by who asks."""

from decimal import Decimal

from django.db.models import Min, Q, QuerySet, Sum

from platform_core.accounts.models import User

from .models import PUBLIC, Installment, InstallmentStatus, Investment, InvestmentStatus, Loan, Note, arrears_since


def _own(user: User | None) -> Q:
    if user is not None and user.is_authenticated and user.organisation_id:
        return Q(borrower_id=user.organisation_id)
    return Q(pk__in=[])


def loan_visible(user: User | None) -> Q:
    """THE rule of who may know a loan exists, for reads and for writes alike (investing in it or
    paying toward it looks the loan up through it, so a draft the caller cannot see is "not found",
    never "this loan is a draft"): listed and later loans for everyone, the borrower's own in any
    status, everything for operators and regulators."""
    if user is not None and user.is_authenticated and (user.is_operator or user.is_regulator):
        return Q()
    return Q(status__in=list(PUBLIC)) | _own(user)


def loan_list(*, user: User | None, status: str = "", grade: str = "", mine: bool = False) -> QuerySet[Loan]:
    """Listed and later loans for everyone; the borrower also sees its drafts; staff see all."""
    qs = Loan.objects.select_related("borrower").annotate(arrears_since=arrears_since())
    qs = qs.filter(_own(user)) if mine else qs.filter(loan_visible(user))
    if status:
        qs = qs.filter(status=status)
    if grade:
        qs = qs.filter(grade=grade)
    return qs.order_by("-created_at", "-pk")


def loan_get(*, user: User | None, loan_id: int) -> Loan | None:
    return loan_list(user=user).filter(pk=loan_id).first()


def loan_schedule(*, user: User, loan: Loan) -> QuerySet[Installment] | None:
    """The schedule is the borrower's, its note holders' and staff's business only."""
    allowed = (
        user.organisation_id == loan.borrower_id
        or user.is_operator
        or user.is_regulator
        or note_list(user=user).filter(loan=loan).exists()
    )
    return loan.installments.order_by("number") if allowed else None


def note_list(*, user: User) -> QuerySet[Note]:
    own = Q(holder=user, holder_organisation__isnull=True)
    if user.organisation_id:
        own |= Q(holder_organisation_id=user.organisation_id)
    return (
        Note.objects.filter(own)
        .select_related("loan", "loan__borrower")
        .annotate(loan_arrears_since=arrears_since("loan_id"))
        .order_by("-pk")
    )


def _with_loan_arrears(notes: list[Note]) -> list[Note]:
    """Hand each note's annotated arrears to its loan, so `note.loan.days_past_due` asks nothing."""
    for note in notes:
        note.loan.arrears_since = note.loan_arrears_since
    return notes


def loans_next_due(*, loan_ids: list[int]) -> dict:
    """Each loan's next unpaid due date, in one query."""
    return dict(
        Installment.objects.filter(loan_id__in=loan_ids)
        .exclude(status=InstallmentStatus.PAID)
        .values("loan_id")
        .annotate(next_due=Min("due_date"))
        .order_by()
        .values_list("loan_id", "next_due")
    )


def commitment_list(*, user: User) -> QuerySet[Investment]:
    """The user's money committed to listings not yet disbursed (still in the loan's escrow)."""
    own = Q(investor=user, investor_organisation__isnull=True)
    if user.organisation_id:
        own |= Q(investor_organisation_id=user.organisation_id)
    return Investment.objects.filter(own, status=InvestmentStatus.ACTIVE).select_related("loan", "loan__borrower").order_by("-pk")


def portfolio(*, user: User) -> dict:
    """Expected and received cash flows of the user's notes, and the overdue ones."""
    notes = _with_loan_arrears(list(note_list(user=user)))
    received = {
        "principal": sum((n.received_principal for n in notes), Decimal("0.00")),
        "interest": sum((n.received_interest for n in notes), Decimal("0.00")),
        "fees": sum((n.fees_paid for n in notes), Decimal("0.00")),
    }
    loan_ids = {n.loan_id for n in notes}
    remaining = {
        row["loan_id"]: row
        for row in Installment.objects.filter(loan_id__in=loan_ids)
        .exclude(status=InstallmentStatus.PAID)
        .values("loan_id")
        .annotate(
            principal=Sum("principal_due") - Sum("principal_paid"),
            interest=Sum("interest_due") - Sum("interest_paid"),
        )
        .order_by()
    }
    expected = Decimal("0.00")
    for note in notes:
        row = remaining.get(note.loan_id)
        if row and note.loan.amount:
            expected += ((row["principal"] + row["interest"]) * note.principal / note.loan.amount).quantize(Decimal("0.01"))
    overdue = [n for n in notes if n.loan.days_past_due > 0]
    return {
        "notes": notes,
        "received": received,
        "expected_remaining": expected,
        "overdue": overdue,
        "commitments": list(commitment_list(user=user)),
    }
