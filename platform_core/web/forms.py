"""Web forms: they parse input; services decide. Service errors land beside their field."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from platform_core.accounts.models import OrganisationKind
from platform_core.errors import ApplicationError
from platform_core.money import ungroup_amount

#: No autocomplete on amounts: a money page the browser fetches again (Back) must never come back
#: with the amount filled in under a fresh key (see IdempotentForm).
AMOUNT_ATTRS = {"inputmode": "decimal", "placeholder": "100.00", "autocomplete": "off"}


def form_add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class AmountField(forms.CharField):
    """An amount typed into a web form. Text on purpose: `parse_amount` in the services owns the
    one rule (ASCII digits, no exponent, the currency's decimals) and its error lands beside the
    field. The web alone also takes thousands separators where they belong ("1,000.50")."""

    def __init__(self, *, placeholder: str = "100.00", **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={**AMOUNT_ATTRS, "placeholder": placeholder}))
        super().__init__(**kwargs)

    def to_python(self, value):
        return ungroup_amount(super().to_python(value))


def amount_field(label: str, *, required: bool = True, help_text: str = "", placeholder: str = "100.00") -> AmountField:
    return AmountField(label=label, required=required, help_text=help_text, placeholder=placeholder)


class IdempotentForm(forms.Form):
    """A form that moves money. Its hidden key makes the same form, sent again, take effect once:
    a double click, a retry after a timeout, or Back and the button again.

    Back works because of where a money form goes when it succeeds (platform_core.web.actions.
    money_form_done): never to the page that showed the form, but to a receipt address of its own.
    So the page the browser keeps in its history (and shows again on Back) is the one it was sent
    from, with the key already used; sending it again is recognised and replayed. (The wallet and
    loan pages used to redirect to themselves: the history's copy was replaced by a fresh page with
    a new key, the browser filled the amount back in, and the money moved twice.) Amount inputs
    carry autocomplete="off", so a page the browser fetches again instead comes back empty."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def renew_key(self) -> None:
        """After a refusal (stored under the key, nothing changed) the corrected form is a new request."""
        self.data = self.data.copy()
        self.data[self.add_prefix("idempotency_key")] = uuid.uuid4().hex


class InvestorSignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    id_number = forms.CharField(label="Resident identity number", max_length=18)
    annual_income = AmountField(label=_("Annual income"), initial="0", placeholder="0.00")
    net_worth = AmountField(label=_("Net worth"), initial="0", placeholder="0.00")
    accredited = forms.BooleanField(required=False, label="I am an accredited investor")


class OrganisationSignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    legal_name = forms.CharField(max_length=200)
    credit_code = forms.CharField(label="Unified social credit code", max_length=18, min_length=18)
    kind = forms.ChoiceField(choices=[(OrganisationKind.SME, "SME")], initial=OrganisationKind.SME, widget=forms.HiddenInput)


class AmountForm(IdempotentForm):
    """Deposit or withdrawal."""

    amount = AmountField(label=_("Amount"))
    field_order = ["amount", "idempotency_key"]
