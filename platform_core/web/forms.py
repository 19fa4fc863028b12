"""Web forms: they parse input; services decide. Service errors land beside their field."""

import uuid

from django import forms

from platform_core.accounts.models import OrganisationKind
from platform_core.errors import ApplicationError


def form_add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class InvestorSignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    id_number = forms.CharField(label="Resident identity number", max_length=18)
    annual_income = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0, initial=0)
    net_worth = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0, initial=0)
    accredited = forms.BooleanField(required=False, label="I am an accredited investor")


class OrganisationSignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    legal_name = forms.CharField(max_length=200)
    credit_code = forms.CharField(label="Unified social credit code", max_length=18, min_length=18)
    kind = forms.ChoiceField(choices=[(OrganisationKind.SME, "SME")], initial=OrganisationKind.SME, widget=forms.HiddenInput)


class AmountForm(forms.Form):
    """Deposit or withdrawal. The hidden key makes a double-submitted form move money once."""

    amount = forms.CharField(max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "100.00"}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
