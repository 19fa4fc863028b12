from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from platform_core.admin_base import PlatformAdmin
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
