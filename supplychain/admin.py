"""Every supply-chain model in the admin. Operators read everything and act only through services
(the actions below); regulators read, never write (platform_core.admin_base). Nothing is edited in
place: money-bearing rows change through supplychain/services/."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from platform_core.admin_base import PlatformAdmin, ReadOnlyAdmin
from platform_core.errors import ApplicationError

from . import services
from .models import (
    Dilution,
    Encumbrance,
    Financing,
    FunderExposure,
    FunderProfile,
    Invoice,
    InvoiceDocument,
    PayableCertificate,
    Programme,
    Reminder,
    SupplierLimit,
)


class ServiceOnlyAdmin(PlatformAdmin):
    """Viewed by operators and regulators; changed only by the actions (each a service call)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Programme)
class ProgrammeAdmin(ServiceOnlyAdmin):
    list_display = [
        "name",
        "funder",
        "anchor",
        "product",
        "anchor_limit",
        "utilised",
        "advance_rate",
        "annual_rate",
        "day_basis",
        "active",
    ]
    list_filter = ["product", "active", "recourse"]
    list_select_related = ["funder", "anchor"]
    search_fields = ["name", "funder__legal_name", "anchor__legal_name"]


@admin.register(SupplierLimit)
class SupplierLimitAdmin(ServiceOnlyAdmin):
    list_display = ["programme", "supplier", "sub_limit", "utilised"]
    list_select_related = ["programme", "supplier"]


@admin.register(FunderProfile)
class FunderProfileAdmin(ServiceOnlyAdmin):
    list_display = ["organisation", "risk_assets", "updated_at"]
    list_select_related = ["organisation"]


@admin.register(FunderExposure)
class FunderExposureAdmin(ServiceOnlyAdmin):
    list_display = ["funder", "debtor", "amount"]
    list_select_related = ["funder", "debtor"]


class DilutionInline(admin.TabularInline):
    model = Dilution
    extra = 0
    can_delete = False
    fields = readonly_fields = ["amount", "reason", "created_by", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ServiceOnlyAdmin):
    list_display = ["number", "supplier", "anchor", "face_amount", "dilution_amount", "currency", "due_date", "status"]
    list_filter = ["status"]
    list_select_related = ["supplier", "anchor"]
    search_fields = ["number", "supplier__legal_name", "anchor__legal_name"]
    inlines = [DilutionInline]


@admin.register(Dilution)
class DilutionAdmin(ServiceOnlyAdmin):
    list_display = ["invoice", "amount", "reason", "created_by", "created_at"]
    list_select_related = ["invoice", "created_by"]


@admin.register(InvoiceDocument)
class InvoiceDocumentAdmin(ServiceOnlyAdmin):
    list_display = ["invoice", "original_name", "content_type", "size", "sha256", "created_at"]
    list_select_related = ["invoice"]


@admin.action(description=_("Freeze (it no longer moves)"))
def freeze(modeladmin, request, queryset):
    _certificate_action(modeladmin, request, queryset, frozen=True)


@admin.action(description=_("Unfreeze"))
def unfreeze(modeladmin, request, queryset):
    _certificate_action(modeladmin, request, queryset, frozen=False)


def _certificate_action(modeladmin, request, queryset, *, frozen: bool):
    for certificate in queryset:
        try:
            services.certificate_freeze(actor=request.user, certificate_id=certificate.pk, frozen=frozen, note="admin")
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{certificate}: {exc.message}", level=messages.ERROR)


@admin.register(PayableCertificate)
class PayableCertificateAdmin(ServiceOnlyAdmin):
    list_display = ["id", "anchor", "holder", "parent", "depth", "face_amount", "balance", "due_date", "status"]
    list_filter = ["status"]
    list_select_related = ["anchor", "holder"]
    actions = [freeze, unfreeze]


@admin.register(Financing)
class FinancingAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        "programme",
        "requester",
        "funder",
        "amount",
        "advance",
        "discount",
        "fee",
        "net_amount",
        "due_date",
        "status",
    ]
    list_filter = ["status"]
    list_select_related = ["programme", "requester", "funder"]


@admin.register(Encumbrance)
class EncumbranceAdmin(ReadOnlyAdmin):
    list_display = ["asset", "funder", "financing", "registered_at", "released_at"]
    list_select_related = ["funder"]
    search_fields = ["asset"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["subject", "days_before", "due_date", "created_at"]
