import datetime

from django.conf import settings
from django.contrib import admin, messages

from platform_core.admin_base import PlatformAdmin, ReadOnlyAdmin
from platform_core.errors import ApplicationError

from . import services
from .models import Grade, Installment, Investment, Loan, Note, Repayment, RepaymentShare, arrears_since, business_date


class InstallmentInline(admin.TabularInline):
    model = Installment
    extra = 0
    can_delete = False
    fields = [
        "number",
        "due_date",
        "principal_due",
        "interest_due",
        "penalty_due",
        "principal_paid",
        "interest_paid",
        "penalty_paid",
        "status",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff


def _approve_action(grade):
    def action(modeladmin, request, queryset):
        listed = 0
        for loan in queryset:
            try:
                services.loan_approve(actor=request.user, loan_id=loan.pk, grade=grade)
                listed += 1
            except ApplicationError as exc:
                modeladmin.message_user(request, f"Loan {loan.pk}: {exc.message}", level=messages.ERROR)
        if listed:
            modeladmin.message_user(request, f"{listed} loan(s) listed as grade {grade}.")

    action.__name__ = f"approve_grade_{grade.lower()}"
    action.short_description = f"Approve and list as grade {grade}"
    return action


class DelinquencyBucketFilter(admin.SimpleListFilter):
    """Loans by delinquency bucket: a bucket of days past due is a range of arrears dates."""

    title = "delinquency bucket"
    parameter_name = "bucket"

    def lookups(self, request, model_admin):
        return [(label, label) for _, _, label in settings.P2P["DELINQUENCY_BUCKETS"]]

    def queryset(self, request, queryset):
        for low, high, label in settings.P2P["DELINQUENCY_BUCKETS"]:
            if self.value() == label:
                today = business_date()
                queryset = queryset.filter(arrears_since__lte=today - datetime.timedelta(days=low))
                if high is not None:
                    queryset = queryset.filter(arrears_since__gte=today - datetime.timedelta(days=high))
                return queryset
        return queryset


@admin.register(Loan)
class LoanAdmin(PlatformAdmin):
    list_display = [
        "id",
        "borrower",
        "amount",
        "term_months",
        "annual_rate",
        "method",
        "grade",
        "status",
        "funded_amount",
        "principal_outstanding",
        "days_past_due",
        "delinquency_bucket",
        "created_at",
    ]
    list_filter = ["status", "grade", "method", DelinquencyBucketFilter]
    search_fields = ["borrower__legal_name", "purpose"]
    list_select_related = ["borrower"]
    inlines = [InstallmentInline]
    readonly_fields = [f.name for f in Loan._meta.fields] + ["days_past_due", "delinquency_bucket"]
    actions = [_approve_action(grade) for grade in Grade.values] + ["reject"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(arrears_since=arrears_since())

    @admin.display(description="days past due")
    def days_past_due(self, loan):
        return loan.days_past_due

    @admin.display(description="delinquency bucket")
    def delinquency_bucket(self, loan):
        return loan.delinquency_bucket

    def has_change_permission(self, request, obj=None):
        # the operator acts through the actions (services); a loan's fields are not edited by hand
        return super().has_change_permission(request, obj) and obj is None

    @admin.action(description="Reject (the SME may fix and resubmit)")
    def reject(self, request, queryset):
        rejected = 0
        for loan in queryset:
            try:
                services.loan_reject(actor=request.user, loan_id=loan.pk, reason="Rejected by the operator after review.")
                rejected += 1
            except ApplicationError as exc:
                self.message_user(request, f"Loan {loan.pk}: {exc.message}", level=messages.ERROR)
        if rejected:
            self.message_user(request, f"{rejected} loan(s) rejected.")


@admin.register(Investment)
class InvestmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "investor", "amount", "status", "created_at"]
    list_select_related = ["loan__borrower", "investor"]
    list_filter = ["status"]


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "loan",
        "holder",
        "principal",
        "principal_outstanding",
        "received_principal",
        "received_interest",
        "fees_paid",
    ]
    list_select_related = ["loan__borrower", "holder"]


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "loan",
        "source",
        "amount",
        "penalty_part",
        "interest_part",
        "principal_part",
        "service_fee",
        "is_compensatory",
        "created_at",
    ]
    list_filter = ["source", "is_compensatory"]
    list_select_related = ["loan__borrower"]


@admin.register(RepaymentShare)
class RepaymentShareAdmin(ReadOnlyAdmin):
    list_display = ["id", "repayment", "note", "gross", "principal", "interest", "service_fee", "net"]
