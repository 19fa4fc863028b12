"""Crowdfunding web forms: they parse input; crowdfunding/services.py decides.

Amounts are text fields on purpose: `parse_amount` in the services owns the precision and range
rules, and its error lands beside the field (platform_core.web.forms.form_add_application_error).
"""

import functools
import zoneinfo

from django import forms
from django.conf import settings
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from platform_core.web.forms import IdempotentForm, amount_field

from .models import PUBLIC, CampaignKind, CampaignStatus, FundingModel
from .services import EDITABLE


@functools.cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def category_choices() -> list[tuple[str, str]]:
    return list(settings.CROWDFUNDING["CATEGORIES"])


def currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in settings.PLATFORM["CURRENCIES"]]


class WallClockDateTimeField(forms.DateTimeField):
    """A date and time as read on a clock in the campaign's own zone. Django would pin a naive input
    to the server's zone (UTC); this keeps it naive, and campaign_create/_update interpret it in
    `campaign.time_zone`."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and timezone.is_aware(value):
            value = timezone.make_naive(value, timezone.get_current_timezone())
        return value


class CampaignForm(forms.Form):
    """The campaign itself; its reward tiers come in TierFormSet, its equity terms in the fields
    below the `equity` heading (shown for kind=equity)."""

    kind = forms.ChoiceField(choices=CampaignKind.choices, initial=CampaignKind.REWARD, widget=forms.RadioSelect)
    title = forms.CharField(max_length=200)
    summary = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="One paragraph, shown on the card."
    )
    story = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8}))
    category = forms.ChoiceField(choices=category_choices)
    cover_image = forms.FileField(
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text="JPEG, PNG or WebP, at most 5 MB.",
    )
    target_amount = amount_field("Target")
    maximum_amount = amount_field(
        "Maximum", required=False, help_text="Optional for rewards; required for equity (oversubscription cap)."
    )
    funding_model = forms.ChoiceField(choices=FundingModel.choices, initial=FundingModel.ALL_OR_NOTHING)
    currency = forms.ChoiceField(choices=currency_choices)
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial=settings.PLATFORM_DEFAULT_TIME_ZONE)
    deadline = WallClockDateTimeField(help_text="Date and time in the campaign's time zone.")
    # equity terms (kind=equity)
    price_per_share = amount_field("Price per share", required=False)
    minimum_investment = amount_field("Minimum investment", required=False)
    pre_money_valuation = amount_field("Pre-money valuation", required=False)
    max_investors = forms.IntegerField(
        label="Maximum number of investors", required=False, initial=settings.CROWDFUNDING["EQUITY_MAX_INVESTORS"]
    )

    EQUITY_FIELDS = ("price_per_share", "minimum_investment", "pre_money_valuation", "max_investors")
    CAMPAIGN_FIELDS = EDITABLE

    def __init__(self, *args, kind: str | None = None, **kwargs):
        """`kind` fixes the kind (editing: a draft keeps its kind)."""
        super().__init__(*args, **kwargs)
        self.fixed_kind = kind
        if kind is not None:
            del self.fields["kind"]
            if kind != CampaignKind.EQUITY:
                for name in self.EQUITY_FIELDS:
                    del self.fields[name]

    @property
    def chosen_kind(self) -> str:
        return self.fixed_kind or self.cleaned_data.get("kind", "")

    def campaign_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.CAMPAIGN_FIELDS}
        if self.cleaned_data.get("cover_image"):
            data["cover_image"] = self.cleaned_data["cover_image"]
        return data

    def equity_terms(self) -> dict | None:
        """The terms as typed, or None when none of them is given (the service then asks for them)."""
        if self.chosen_kind != CampaignKind.EQUITY:
            return None
        terms = {name: self.cleaned_data.get(name) for name in self.EQUITY_FIELDS}
        return terms if any(value not in (None, "") for value in terms.values()) else None

    def equity_bound_fields(self):
        return [self[name] for name in self.EQUITY_FIELDS if name in self.fields]

    def campaign_bound_fields(self):
        return [field for field in self.visible_fields() if field.name not in self.EQUITY_FIELDS and field.name != "kind"]


class TierForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    minimum_amount = amount_field("Minimum pledge")
    quantity_limit = forms.IntegerField(required=False, help_text="Empty: unlimited.")
    estimated_delivery = forms.CharField(
        label="Estimated delivery", max_length=10, widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    )


class BaseTierFormSet(BaseFormSet):
    def tiers(self) -> list[dict]:
        """The tiers typed in, in order; blank extra rows and rows marked for deletion left out."""
        return [
            {name: value for name, value in form.cleaned_data.items() if name != "DELETE"}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def add_non_form_error(self, message: str) -> None:
        """A service error about the tiers as a whole (field "tiers"), shown above them."""
        self.non_form_errors().append(message)  # the formset's own ErrorList, built by full_clean()


TierFormSet = formset_factory(TierForm, formset=BaseTierFormSet, extra=2, can_delete=True, max_num=50, validate_max=True)


class CampaignFilterForm(forms.Form):
    """The browse page's filters. Invalid values are ignored, never an error page."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *CampaignKind.choices])
    category = forms.ChoiceField(required=False, choices=lambda: [("", "Any category"), *category_choices()])
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *[(s.value, s.label) for s in CampaignStatus if s in PUBLIC]]
    )
    sort = forms.ChoiceField(
        required=False, choices=[("newest", "Newest"), ("ending_soon", "Ending soon"), ("most_funded", "Most funded")]
    )

    def filters(self) -> dict:
        """Keyword arguments for selectors.campaign_list; newest first unless another order is chosen."""
        self.is_valid()  # a bound form cleans; an invalid field is left out of cleaned_data
        cleaned = getattr(self, "cleaned_data", {})
        filters = {name: cleaned.get(name) or "" for name in self.fields}
        filters["sort"] = filters["sort"] or "newest"
        return filters


class TierRadioSelect(forms.RadioSelect):
    """Radio buttons whose sold-out choices are disabled (the service refuses them anyway)."""

    def __init__(self, *args, disabled_values=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values = {str(v) for v in disabled_values}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class PledgeForm(IdempotentForm):
    """A pledge. The hidden key makes a form sent again record one pledge (IdempotentForm)."""

    amount = amount_field("Amount")
    tier = forms.TypedChoiceField(label="Reward", required=False, coerce=int, empty_value=None)
    field_order = ["amount", "tier", "idempotency_key"]

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        tiers = list(campaign.tiers.all())
        if campaign.is_equity or not tiers:
            del self.fields["tier"]
            return
        choices = [("", "No reward, I just want to support it")]
        for tier in tiers:
            note = " · Sold out" if tier.sold_out else (f" · {tier.remaining} left" if tier.remaining is not None else "")
            choices.append((str(tier.pk), f"{tier.title}: {tier.minimum_amount:,} {campaign.currency} or more{note}"))
        self.fields["tier"].choices = choices
        self.fields["tier"].widget = TierRadioSelect(choices=choices, disabled_values=[t.pk for t in tiers if t.sold_out])


class CampaignUpdatePostForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    backers_only = forms.BooleanField(required=False, label="Only backers can read this")
    material_change = forms.BooleanField(
        required=False,
        label="This is a material change to the offering",
        help_text="Every commitment goes on hold until the investor reconfirms within 5 business days.",
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        if not campaign.is_equity:
            del self.fields["material_change"]


class CampaignCancelForm(forms.Form):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with the cancellation in the audit trail."
    )
