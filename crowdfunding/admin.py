import datetime

from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from platform_core.admin_base import PlatformAdmin, ReadOnlyAdmin
from platform_core.errors import ApplicationError

from . import services
from .models import Campaign, CampaignUpdate, EquityTerms, Pledge, RewardTier
from .stats import COLUMNS, ROUNDING_NOTE, crowdfunding_stats, stats_cells, stats_render


class RewardTierInline(admin.TabularInline):
    model = RewardTier
    extra = 0
    fields = ["title", "minimum_amount", "quantity_limit", "claimed", "estimated_delivery"]
    readonly_fields = ["claimed"]


class EquityTermsInline(admin.StackedInline):
    model = EquityTerms
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(PlatformAdmin):
    list_display = [
        "id",
        "title",
        "kind",
        "organisation",
        "status",
        "outcome",
        "target_amount",
        "raised_amount",
        "pledge_count",
        "deadline",
        "payout_amount",
        "fee_amount",
        "refunded_amount",
        "refunded_count",
        "settled_at",
    ]
    list_filter = ["status", "kind", "outcome", "entity", "category"]
    search_fields = ["title", "organisation__legal_name"]
    list_select_related = ["organisation"]
    date_hierarchy = "deadline"
    inlines = [RewardTierInline, EquityTermsInline]
    readonly_fields = [
        "status",
        "outcome",
        "launched_at",
        "fee_rate",
        "raised_amount",
        "pledge_count",
        "investor_count",
        "settled_at",
        "payout_amount",
        "fee_amount",
        "refunded_amount",
        "refunded_count",
        "rejection_reason",
        "created_by",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["entity", "organisation", "created_by", "kind", "title", "summary", "story", "category", "cover_image"]},
        ),
        (
            "Money and time",
            {
                "fields": [
                    "target_amount",
                    "maximum_amount",
                    "funding_model",
                    "currency",
                    "time_zone",
                    "deadline",
                    "launched_at",
                    "fee_rate",
                ]
            },
        ),
        ("Status", {"fields": ["status", "outcome", "rejection_reason"]}),
        (
            "Pledges and settlement",
            {
                "fields": [
                    "raised_amount",
                    "pledge_count",
                    "investor_count",
                    "settled_at",
                    "payout_amount",
                    "fee_amount",
                    "refunded_amount",
                    "refunded_count",
                ]
            },
        ),
    ]
    actions = ["approve", "reject", "suspend", "resume"]

    def has_change_permission(self, request, obj=None):
        # operators change campaigns through the actions (services), not by editing money fields
        return super().has_change_permission(request, obj) and (obj is None or obj.status == "draft")

    def _run(self, request, queryset, call, verb):
        done = 0
        for campaign in queryset:
            try:
                call(campaign)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", level=messages.ERROR)
        if done:
            self.message_user(request, f"{done} campaign(s) {verb}.")

    @admin.action(description="Approve (goes live now)")
    def approve(self, request, queryset):
        self._run(request, queryset, lambda c: services.campaign_approve(actor=request.user, campaign_id=c.pk), "approved")

    @admin.action(description="Reject (reason: 'Rejected by the operator'; use the API for a specific reason)")
    def reject(self, request, queryset):
        reason = request.POST.get("reason") or "Rejected by the operator; see the review notes."
        self._run(
            request, queryset, lambda c: services.campaign_reject(actor=request.user, campaign_id=c.pk, reason=reason), "rejected"
        )

    @admin.action(description="Suspend")
    def suspend(self, request, queryset):
        self._run(request, queryset, lambda c: services.campaign_suspend(actor=request.user, campaign_id=c.pk), "suspended")

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        self._run(request, queryset, lambda c: services.campaign_resume(actor=request.user, campaign_id=c.pk), "resumed")

    def get_urls(self):
        return [
            path("statistics/", self.admin_site.admin_view(self.statistics_view), name="crowdfunding_statistics")
        ] + super().get_urls()

    def statistics_view(self, request):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)

        def parse(name):
            try:
                return datetime.datetime.combine(
                    datetime.date.fromisoformat(request.GET.get(name, "")), datetime.time.min, tzinfo=datetime.UTC
                )
            except ValueError:
                return None

        date_from, date_to = parse("from"), parse("to")
        rows = crowdfunding_stats(date_from=date_from, date_to=date_to)
        if request.GET.get("format") == "csv":
            response = HttpResponse(stats_render(rows, "csv"), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="crowdfunding-statistics.csv"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": "Crowdfunding statistics (Fig. 1)",
            "columns": COLUMNS,
            "rows": [stats_cells(r) for r in rows],
            "rounding": ROUNDING_NOTE,
            "date_from": request.GET.get("from", ""),
            "date_to": request.GET.get("to", ""),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/crowdfunding/statistics.html", context)


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "backer", "backer_organisation", "tier", "amount", "currency", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["campaign", "backer", "backer_organisation", "tier"]
    search_fields = ["campaign__title", "backer__username"]
    raw_id_fields = ["campaign", "backer", "wallet", "tier", "refund_transaction"]


@admin.register(CampaignUpdate)
class CampaignUpdateAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "title", "backers_only", "is_material_change", "author", "created_at"]
    list_select_related = ["campaign", "author"]
