"""Regulators' desk in the Django admin: snapshots with every item, its definition, the change since
last month and a trend; CSV and JSON export; entities side by side in the paper's Fig. 1 layout; the
custody reconciliation; the Fig. 2 series; alerts to acknowledge (the one write a regulator has).
Operators edit thresholds, related parties and the beat schedule; nobody edits or deletes a
snapshot."""

import csv
import io
import json

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from platform_core.admin_base import PlatformAdmin, ReadOnlyAdmin, _role
from platform_core.errors import ApplicationError

from . import selectors, services
from .items import FIG1_COLUMNS, fund_security_figures, month_parse, period_of, registry
from .models import Alert, AlertStatus, AlertThreshold, RelatedParty, Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["entity", "kind", "period_month", "version", "as_of", "computed_at", "rule_version", "short_hash"]
    list_filter = ["entity", "kind", "period", "rule_version"]
    list_select_related = ["entity"]
    date_hierarchy = "as_of"
    change_list_template = "admin/disclosures/snapshot_change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("items_json", "diff_json")

    @admin.display(description=_("period"), ordering="period")
    def period_month(self, obj):
        return obj.period.strftime("%Y-%m") if obj.period else "-"

    @admin.display(description=_("hash"))
    def short_hash(self, obj):
        return obj.sha256[:12]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/export.csv", view(self.export_csv), name="disclosures_snapshot_export_csv"),
            path("<int:pk>/export.json", view(self.export_json), name="disclosures_snapshot_export_json"),
            path("fig1/", view(self.fig1_view), name="disclosures_fig1"),
            path("fig2/", view(self.fig2_view), name="disclosures_fig2"),
            path("custody/", view(self.custody_view), name="disclosures_custody"),
        ] + super().get_urls()

    def _snapshot_or_404(self, request, pk) -> Snapshot:
        if not self.has_view_permission(request):
            raise Http404
        snapshot = selectors.snapshot_get(user=request.user, snapshot_id=pk)
        if snapshot is None:
            raise Http404
        return snapshot

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            snapshot = self._snapshot_or_404(request, int(object_id))
        except ValueError:
            raise Http404 from None
        page = selectors.snapshot_page(snapshot, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(snapshot),
            "snapshot": snapshot,
            "diff": snapshot.diff,
            "alerts": list(snapshot.alerts.order_by("item_key")),
            **page,
        }
        return TemplateResponse(request, "admin/disclosures/snapshot_detail.html", context)

    def export_csv(self, request, pk):
        snapshot = self._snapshot_or_404(request, pk)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["entity", "period", "as_of", "version", "sha256", "item", "label", "value", "definition", "public"])
        for key, entry in selectors.items_visible(snapshot, request.user).items():
            value = entry["value"]
            writer.writerow(
                [
                    snapshot.entity.name,
                    snapshot.period.strftime("%Y-%m") if snapshot.period else "",
                    snapshot.as_of.isoformat(),
                    snapshot.version,
                    snapshot.sha256,
                    key,
                    entry["label"],
                    json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else ("" if value is None else value),
                    entry["definition"],
                    entry["public"],
                ]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="disclosure-{snapshot.pk}.csv"'
        return response

    def export_json(self, request, pk):
        snapshot = self._snapshot_or_404(request, pk)
        document = {
            "entity": snapshot.entity.name,
            "kind": snapshot.kind,
            "period": snapshot.period.isoformat() if snapshot.period else None,
            "as_of": snapshot.as_of.isoformat(),
            "computed_at": snapshot.computed_at.isoformat(),
            "rule_version": snapshot.rule_version,
            "version": snapshot.version,
            "sha256": snapshot.sha256,
            "previous_sha256": snapshot.previous_sha256,
            "items": selectors.items_visible(snapshot, request.user),
            "diff": snapshot.diff,
        }
        response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="disclosure-{snapshot.pk}.json"'
        return response

    def _page(self, request, template, **context):
        if not self.has_view_permission(request):
            raise Http404
        return TemplateResponse(request, template, {**self.admin_site.each_context(request), "opts": self.model._meta, **context})

    def fig1_view(self, request):
        periods = list(selectors.latest_monthly().order_by("-period").values_list("period", flat=True).distinct()[:36])
        period = month_parse(request.GET.get("period")) or (periods[0] if periods else None)
        rows = selectors.fig1_rows(period) if period else []
        return self._page(
            request,
            "admin/disclosures/fig1.html",
            title=_("Entities side by side (Fig. 1)"),
            period=period,
            periods=sorted(set(periods), reverse=True),
            columns=[label for _key, label, *_rest in FIG1_COLUMNS],
            rows=rows,
        )

    def fig2_view(self, request):
        series = selectors.fig2_series()
        shares = [row["share"] for row in series]
        return self._page(
            request,
            "admin/disclosures/fig2.html",
            title=_("P2P share of all credit outstanding (Fig. 2)"),
            series=series,
            chart=selectors.sparkline(shares, width=480, height=120),
        )

    def custody_view(self, request):
        now = timezone.now()
        live = fund_security_figures(now)
        filed = list(selectors.latest_monthly().order_by("-period", "entity__name")[:24])
        known = registry()
        rows = [
            {"key": key, "label": known[key].label, "definition": known[key].definition, "value": value}
            for key, value in live.items()
        ]
        return self._page(
            request,
            "admin/disclosures/custody.html",
            title=_("Custody reconciliation"),
            now=now,
            rows=rows,
            filed=[
                {
                    "snapshot": s,
                    "difference": s.items.get("fund_security.custody_difference", {}).get("value"),
                    "mismatches": s.items.get("fund_security.custody_mismatches", {}).get("value"),
                }
                for s in filed
            ],
            this_period=period_of(now),
        )


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "entity",
        "item_key",
        "value",
        "comparison",
        "limit",
        "status",
        "acknowledged_by",
        "acknowledged_at",
    ]
    list_filter = ["status", "entity", "item_key"]
    list_select_related = ["entity", "acknowledged_by"]
    readonly_fields = [
        "snapshot",
        "entity",
        "item_key",
        "value",
        "comparison",
        "limit",
        "status",
        "created_at",
        "notified_at",
        "acknowledged_by",
        "acknowledged_at",
        "acknowledgement_note",
    ]
    change_form_template = "admin/disclosures/alert_change_form.html"

    def get_urls(self):
        return [
            path("<int:pk>/acknowledge/", self.admin_site.admin_view(self.acknowledge_view), name="disclosures_alert_acknowledge")
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_acknowledge": _role(request) == "regulator"}
        return super().change_view(request, object_id, form_url, extra_context)

    def acknowledge_view(self, request, pk):
        if _role(request) != "regulator":
            raise Http404
        alert = Alert.objects.select_related("entity").filter(pk=pk).first()
        if alert is None:
            raise Http404
        form = AcknowledgeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.alert_acknowledge(user=request.user, alert_id=alert.pk, note=form.cleaned_data["note"])
            except ApplicationError as exc:
                form.add_error("note" if exc.field == "note" else None, exc.message)
            else:
                self.message_user(request, _("Alert acknowledged."), level=messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:disclosures_alert_change", args=[alert.pk]))
        return TemplateResponse(
            request,
            "admin/disclosures/alert_acknowledge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Acknowledge alert"),
                "alert": alert,
                "form": form,
                "open": alert.status == AlertStatus.OPEN,
            },
        )


class ThresholdForm(forms.ModelForm):
    item_key = forms.ChoiceField(label=_("Item"))

    class Meta:
        model = AlertThreshold
        fields = ["item_key", "comparison", "limit", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item_key"].choices = [
            (key, f"{key} - {item.label}") for key, item in registry().items() if item.kind in ("amount", "count", "rate")
        ]


@admin.register(AlertThreshold)
class AlertThresholdAdmin(PlatformAdmin):
    form = ThresholdForm
    list_display = ["item_key", "comparison", "limit", "enabled", "updated_at"]
    list_editable = ["comparison", "limit", "enabled"]


@admin.register(RelatedParty)
class RelatedPartyAdmin(PlatformAdmin):
    list_display = ["entity", "organisation", "relation", "created_at"]
    list_filter = ["entity"]
    list_select_related = ["entity", "organisation"]
    autocomplete_fields = []


def _beat_admins():
    """django-celery-beat's schedule pages, under the platform's roles (operators edit, regulators read)."""
    from django_celery_beat import admin as beat_admin
    from django_celery_beat import models as beat

    for model, base in [
        (beat.PeriodicTask, beat_admin.PeriodicTaskAdmin),
        (beat.CrontabSchedule, beat_admin.CrontabScheduleAdmin),
        (beat.IntervalSchedule, admin.ModelAdmin),
        (beat.ClockedSchedule, beat_admin.ClockedScheduleAdmin),
        (beat.SolarSchedule, admin.ModelAdmin),
    ]:
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, type(f"Platform{model.__name__}Admin", (PlatformAdmin, base), {}))


_beat_admins()
