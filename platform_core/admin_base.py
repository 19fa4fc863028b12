"""Admin permissions by role: operators manage, regulators only read, nobody rewrites the books."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db import models

from platform_core.accounts.models import Role


def _role(request):
    user = request.user
    if not (user.is_active and user.is_staff):
        return None
    return "operator" if user.is_superuser else user.role


class PlatformChangeList(ChangeList):
    """Django's change list, with out-of-range numbers in the date hierarchy (`?deadline__year=
    99999999999999999999` overflows a C long) refused like any other bad filter (the list reloads
    with ?e=1) instead of answering 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class PlatformAdmin(admin.ModelAdmin):
    """Operators may view, add and change; regulators may only view. Deletion is off everywhere:
    money-bearing records are corrected by services, not erased."""

    def has_module_permission(self, request):
        return _role(request) in (Role.OPERATOR, Role.REGULATOR)

    def has_view_permission(self, request, obj=None):
        return _role(request) in (Role.OPERATOR, Role.REGULATOR)

    #: Model fields the add form fills in under another name (e.g. the user's password, set from
    #: password1/password2): counted as given when judging whether the add form can be saved.
    add_form_fills: tuple[str, ...] = ()

    def has_add_permission(self, request):
        return _role(request) == Role.OPERATOR and self.add_form_can_save(request)

    def add_form_can_save(self, request) -> bool:
        """An "Add" page is offered only where a hand-made object can be saved: every field the
        database needs (not null, no default, not blank) is an editable field of the add form.
        Records that only a service can make (loans, campaigns: their status, counters and creator
        are read-only here) have no "Add" page rather than a form that can only fail."""
        cached = getattr(self, "_add_form_can_save", None)
        if cached is None:
            editable = set(self.get_form(request, None).base_fields) | set(self.add_form_fills)
            cached = self._add_form_can_save = all(
                field.name in editable
                for field in self.model._meta.concrete_fields
                if not (
                    field.primary_key
                    or field.null
                    or field.blank
                    or field.has_default()
                    or field.db_default is not models.NOT_PROVIDED
                    or getattr(field, "auto_now", False)
                    or getattr(field, "auto_now_add", False)
                )
            )
        return cached

    def has_change_permission(self, request, obj=None):
        return _role(request) == Role.OPERATOR

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changelist(self, request, **kwargs):
        return PlatformChangeList

    def get_actions(self, request):
        # actions change things: regulators are not offered any
        return super().get_actions(request) if _role(request) == Role.OPERATOR else {}


class ReadOnlyAdmin(PlatformAdmin):
    """For append-only records (ledger, audit): everyone who may see them only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
