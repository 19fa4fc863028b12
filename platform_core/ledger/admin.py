from django.contrib import admin

from platform_core.admin_base import PlatformAdmin, ReadOnlyAdmin

from .models import Account, IdempotencyKey, Leg, Payment, Transaction


class LegInline(admin.TabularInline):
    model = Leg
    fields = ["account", "amount", "currency"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # By role like the transaction itself (Django's default asks for model permissions, which roles lack).
        return PlatformAdmin.has_view_permission(self, request, obj)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "purpose", "currency", "balance"]
    list_filter = ["purpose", "currency"]
    search_fields = ["key", "name"]


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "memo", "reference", "created_by"]
    list_filter = ["kind"]
    search_fields = ["memo", "reference"]
    list_select_related = ["created_by"]
    inlines = [LegInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "direction", "amount", "currency", "status", "gateway", "created_by"]
    list_filter = ["direction", "status", "gateway"]
    list_select_related = ["created_by"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "key", "response_status"]
    list_select_related = ["user"]
