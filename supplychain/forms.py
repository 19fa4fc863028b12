"""Supply-chain web forms: they parse input; supplychain/services decide. Amounts and dates are
text on purpose: the services own the rules, and their errors land beside the field. Forms that
move money or take a limit carry a hidden idempotency key, so a double submit acts once."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from platform_core.accounts.models import Organisation, OrganisationKind

AMOUNT = {"inputmode": "decimal", "placeholder": "1000.00", "autocomplete": "off"}
DATE = {"type": "date"}


def amount_field(label, *, required=True, help_text=""):
    return forms.CharField(
        label=label, max_length=40, required=required, help_text=help_text, widget=forms.TextInput(attrs=AMOUNT)
    )


class IdempotentForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def renew_key(self) -> None:
        self.data = self.data.copy()
        self.data[self.add_prefix("idempotency_key")] = uuid.uuid4().hex


class InvoiceForm(forms.Form):
    anchor = forms.ChoiceField(label=_("Buyer (core enterprise)"))
    number = forms.CharField(label=_("Invoice number"), max_length=64)
    issue_date = forms.CharField(label=_("Issue date"), max_length=20, widget=forms.DateInput(attrs=DATE))
    due_date = forms.CharField(label=_("Due date"), max_length=20, widget=forms.DateInput(attrs=DATE))
    face_amount = amount_field(_("Face amount (CNY)"))
    document = forms.FileField(label=_("Document (PDF, PNG or JPEG)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        anchors = (
            Organisation.objects.filter(kind=OrganisationKind.CORE_ENTERPRISE)
            .order_by("legal_name")
            .values_list("pk", "legal_name")
        )
        self.fields["anchor"].choices = [("", "—"), *anchors]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DilutionForm(forms.Form):
    amount = amount_field(_("Credit note or return (CNY)"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class DocumentForm(forms.Form):
    document = forms.FileField(label=_("Document (PDF, PNG or JPEG)"))


class FinancingRequestForm(IdempotentForm):
    programme = forms.ChoiceField(label=_("Programme"))
    amount = amount_field(_("Amount to finance (CNY)"), required=False, help_text=_("Leave empty to finance all of it."))
    field_order = ["programme", "amount", "idempotency_key"]

    def __init__(self, *args, programmes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].choices = [(p.pk, f"{p.name} ({p.funder})") for p in programmes]


class FundForm(IdempotentForm):
    pass


class SplitForm(IdempotentForm):
    amount = amount_field(_("Amount (CNY)"))
    to_organisation = forms.ChoiceField(label=_("Transfer to"))
    field_order = ["amount", "to_organisation", "idempotency_key"]

    def __init__(self, *args, holder_id=None, anchor_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = (
            Organisation.objects.exclude(kind=OrganisationKind.FUNDER)
            .exclude(pk__in=[holder_id, anchor_id])
            .order_by("legal_name")
            .values_list("pk", "legal_name")
        )
        self.fields["to_organisation"].choices = [("", "—"), *organisations]


class CertificateIssueForm(IdempotentForm):
    invoices = forms.MultipleChoiceField(label=_("Confirmed invoices (one supplier)"), widget=forms.CheckboxSelectMultiple)
    amount = amount_field(_("Face (CNY)"), required=False, help_text=_("Leave empty for the invoices' unpaid total."))
    field_order = ["invoices", "amount", "idempotency_key"]

    def __init__(self, *args, invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = [
            (i.pk, f"{i.number} · {i.supplier} · {i.payable_amount} {i.currency} · {i.due_date:%Y-%m-%d}") for i in invoices
        ]


class ProgrammeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    funder = forms.ChoiceField(label=_("Funder"))
    anchor = forms.ChoiceField(label=_("Anchor (core enterprise)"))
    product = forms.ChoiceField(label=_("Product"))
    anchor_limit = amount_field(_("Anchor's credit limit (CNY)"))
    supplier_sublimit = amount_field(_("Sub-limit per supplier (CNY)"))
    annual_rate = forms.CharField(label=_("Annual discount rate (fraction, e.g. 0.06)"), max_length=20)
    advance_rate = forms.CharField(
        label=_("Advance rate (fraction; empty: the product's default)"), max_length=20, required=False
    )
    day_basis = forms.ChoiceField(label=_("Day basis"), choices=[("360", "360"), ("365", "365")])
    fee_rate = forms.CharField(
        label=_("Platform fee rate (fraction of the advance; empty: default)"), max_length=20, required=False
    )
    recourse = forms.BooleanField(label=_("With recourse"), required=False, initial=True)
    related_party = forms.BooleanField(label=_("The anchor is a related party of the funder"), required=False)
    max_tenor_days = forms.CharField(label=_("Maximum tenor (days)"), max_length=5, required=False)
    grace_days = forms.CharField(label=_("Grace days after maturity"), max_length=5, required=False)

    def __init__(self, *args, **kwargs):
        from .models import Product

        super().__init__(*args, **kwargs)
        by_kind = lambda kind: list(Organisation.objects.filter(kind=kind).order_by("legal_name").values_list("pk", "legal_name"))  # noqa: E731
        self.fields["funder"].choices = by_kind(OrganisationKind.FUNDER)
        self.fields["anchor"].choices = by_kind(OrganisationKind.CORE_ENTERPRISE)
        self.fields["product"].choices = Product.choices
