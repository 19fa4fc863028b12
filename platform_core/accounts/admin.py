from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from platform_core.admin_base import PlatformAdmin, ReadOnlyAdmin
from platform_core.errors import ApplicationError

from . import services
from .models import InvestorProfile, KycCheck, LicenceStatus, Organisation, PlatformEntity, User


@admin.register(User)
class UserAdmin(PlatformAdmin, DjangoUserAdmin):
    list_display = ["username", "email", "role", "organisation", "member_role", "kyc_status", "is_staff", "is_active"]
    list_filter = ["role", "kyc_status", "is_staff", "is_active"]
    list_select_related = ["organisation"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Platform", {"fields": ("role", "organisation", "member_role", "id_number", "kyc_status")}),
    )
    add_form_fills = ("password",)  # from password1/password2
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (("Platform", {"fields": ("role", "organisation", "member_role")}),)
    readonly_fields = ["kyc_status"]


@admin.register(Organisation)
class OrganisationAdmin(PlatformAdmin):
    list_display = ["legal_name", "credit_code", "kind", "kyc_status", "created_at"]
    list_filter = ["kind", "kyc_status"]
    search_fields = ["legal_name", "credit_code"]
    readonly_fields = ["kyc_status"]
    actions = ["run_kyc"]

    @admin.action(description="Run KYC again", permissions=["change"])
    def run_kyc(self, request, queryset):
        for organisation in queryset:
            services.kyc_run(subject=organisation, actor=request.user)
        self.message_user(request, f"KYC run for {queryset.count()} organisation(s).")


@admin.register(InvestorProfile)
class InvestorProfileAdmin(PlatformAdmin):
    list_display = ["user", "annual_income", "net_worth", "accredited"]
    list_select_related = ["user"]


@admin.register(KycCheck)
class KycCheckAdmin(PlatformAdmin):
    list_display = ["created_at", "user", "organisation", "provider", "result", "reason"]
    list_select_related = ["user", "organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LicenceReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


#: Market access and exit (DOMAIN.md section 1): each move asks for its reason, kept in the audit event.
LICENCE_ACTIONS = [
    ("licence_licensed", LicenceStatus.LICENSED, _("License")),
    ("licence_suspended", LicenceStatus.SUSPENDED, _("Suspend")),
    ("licence_exiting", LicenceStatus.EXITING, _("Begin exit (no new business)")),
    ("licence_exited", LicenceStatus.EXITED, _("Complete exit")),
]


def _licence_action(name, target, label):
    def action(modeladmin, request, queryset):
        from platform_core.disclosures.services import entity_licence_change

        form = LicenceReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for entity in queryset:
                try:
                    entity_licence_change(entity=entity, to=target, actor=request.user, reason=form.cleaned_data["reason"])
                except ApplicationError as exc:
                    modeladmin.message_user(request, f"{entity}: {exc.message}", level=messages.ERROR)
                else:
                    modeladmin.message_user(request, f"{entity}: {label}.", level=messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/accounts/licence_reason.html",
            {
                **modeladmin.admin_site.each_context(request),
                "opts": modeladmin.model._meta,
                "title": label,
                "entities": queryset,
                "action": name,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    action.__name__ = name
    action.short_description = label
    action.allowed_permissions = ("change",)  # operators only; regulators read
    return action


@admin.register(PlatformEntity)
class PlatformEntityAdmin(PlatformAdmin):
    list_display = ["name", "properties", "licence_status", "licence_number", "is_default"]
    readonly_fields = ["licence_status"]
    actions = [_licence_action(*args) for args in LICENCE_ACTIONS]


# API tokens: django-rest-knox stores only a digest; its own admin lists the digest and lets an
# operator mint a token for any user. Here operators and regulators see whose tokens exist and
# when they expire, nothing more, and nobody creates one by hand.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["user", "created", "expiry"]
    list_select_related = ["user"]
    fields = ["user", "created", "expiry"]
    search_fields = ["user__username"]


# Failed log-ins (django-axes): operators and regulators see them; an operator unlocks a user or an
# address by forgetting its failures. The records themselves are never edited.
for _model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(AccessAttempt)
class FailedLoginAdmin(ReadOnlyAdmin):
    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "path_info"]
    list_filter = ["attempt_time"]
    search_fields = ["username", "ip_address"]
    fields = ["username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info"]
    actions = ["unlock"]

    @admin.action(description=gettext_lazy("Unlock: forget these failed log-ins"), permissions=["unlock"])
    def unlock(self, request, queryset):
        count, _deleted = queryset.delete()
        self.message_user(request, gettext("%(count)d lockout record(s) removed.") % {"count": count})

    def has_unlock_permission(self, request):
        return request.user.is_active and request.user.is_staff and (request.user.is_superuser or request.user.is_operator)


@admin.register(AccessLog)
class LoginLogAdmin(ReadOnlyAdmin):
    list_display = ["username", "ip_address", "attempt_time", "logout_time", "path_info"]
    search_fields = ["username", "ip_address"]
    fields = ["username", "ip_address", "user_agent", "attempt_time", "logout_time", "path_info"]


@admin.register(AccessFailureLog)
class LoginFailureLogAdmin(ReadOnlyAdmin):
    list_display = ["username", "ip_address", "attempt_time", "locked_out", "path_info"]
    search_fields = ["username", "ip_address"]
    fields = ["username", "ip_address", "user_agent", "attempt_time", "locked_out", "path_info"]
