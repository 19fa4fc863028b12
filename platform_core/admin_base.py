"""Admin permissions by role: operators manage, regulators only read, nobody rewrites the books."""

from django.contrib import admin

from platform_core.accounts.models import Role


def _role(request):
    user = request.user
    if not (user.is_active and user.is_staff):
        return None
    return "operator" if user.is_superuser else user.role


class PlatformAdmin(admin.ModelAdmin):
    """Operators may view, add and change; regulators may only view. Deletion is off everywhere:
    money-bearing records are corrected by services, not erased."""

    def has_module_permission(self, request):
        return _role(request) in (Role.OPERATOR, Role.REGULATOR)

    def has_view_permission(self, request, obj=None):
        return _role(request) in (Role.OPERATOR, Role.REGULATOR)

    def has_add_permission(self, request):
        return _role(request) == Role.OPERATOR

    def has_change_permission(self, request, obj=None):
        return _role(request) == Role.OPERATOR

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        # actions change things: regulators are not offered any
        return super().get_actions(request) if _role(request) == Role.OPERATOR else {}


class ReadOnlyAdmin(PlatformAdmin):
    """For append-only records (ledger, audit): everyone who may see them only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
