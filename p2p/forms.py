"""P2P lending web forms: they parse input; p2p/services.py decides.

Amounts and the rate are text fields on purpose: `parse_amount` and `_parse_rate_percent` in the
services own the precision and range rules, and their errors land beside the field
(platform_core.web.forms.form_add_application_error). Money-moving forms carry a hidden
idempotency key, so a double-submitted form moves money once.
"""

from django import forms

from platform_core.web.forms import IdempotentForm, amount_field

from .models import PUBLIC, Grade, LoanStatus, RepaymentMethod


class LoanForm(forms.Form):
    """The SME's listing: a new draft, or the edit of one."""

    amount = amount_field("Amount (CNY)", help_text="The principal you want to borrow.", placeholder="50000.00")
    term_months = forms.IntegerField(
        label="Term in months", widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "12"})
    )
    annual_rate_percent = forms.CharField(
        label="Annual rate (%)",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "12.5", "autocomplete": "off"}),
        help_text="Percent a year. When the operator grades the loan, the rate must lie in the grade's band.",
    )
    method = forms.ChoiceField(
        label="Repayment method",
        choices=RepaymentMethod.choices,
        initial=RepaymentMethod.EQUAL_INSTALLMENTS,
        widget=forms.RadioSelect,
    )
    purpose = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 3}), help_text="What the money is for, shown to investors."
    )

    def loan_fields(self) -> dict:
        return dict(self.cleaned_data)


class InvestForm(IdempotentForm):
    amount = amount_field("Amount (CNY)")
    field_order = ["amount", "idempotency_key"]


class RepaymentForm(IdempotentForm):
    """Empty amount: what is due now. More than is due pays the next installments early."""

    amount = amount_field("Amount (CNY)", required=False, help_text="Leave empty to pay what is due now.")
    field_order = ["amount", "idempotency_key"]


class PayoffForm(IdempotentForm):
    """Full early repayment: the service computes the amount (the quote shown beside the button)."""


class LoanFilterForm(forms.Form):
    """The browse page's filters: listed loans unless another status is asked for. Unknown values
    fall back to the default, never an error page."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *[(s.value, s.label) for s in LoanStatus if s in PUBLIC]]
    )
    grade = forms.ChoiceField(required=False, choices=[("", "Any grade"), *Grade.choices])

    DEFAULTS = {"status": LoanStatus.LISTED.value, "grade": ""}

    def __init__(self, query):
        data = {}
        for name, default in self.DEFAULTS.items():
            value = query.get(name, default)
            valid = {str(choice) for choice, _ in self.base_fields[name].choices}
            data[name] = value if value in valid else default
        super().__init__(data)

    def filters(self) -> dict:
        """Keyword arguments for selectors.loan_list (the data is valid by construction)."""
        self.is_valid()
        return {name: self.cleaned_data.get(name, default) for name, default in self.DEFAULTS.items()}
