"""Registering invoices, the anchor's answer, dilution: bad input is refused and changes nothing."""

import datetime

import pytest

from platform_core.accounts.models import OrganisationKind
from platform_core.errors import ApplicationError
from supplychain import services
from supplychain.models import Invoice, InvoiceStatus, business_date
from tests.conftest import ORDINARY_DAY

from .factories import chain, confirmed_invoice, member

pytestmark = pytest.mark.django_db

TODAY = business_date(ORDINARY_DAY)  # the day every test runs on (tests/conftest.py), not the real one


def _create(c, **over):
    data = {
        "anchor_id": c.anchor.organisation_id,
        "number": "INV-2026-001",
        "issue_date": TODAY,
        "due_date": TODAY + datetime.timedelta(days=60),
        "face_amount": "1000.00",
    }
    data.update(over)
    return services.invoice_create(user=over.pop("user", c.supplier), **{k: v for k, v in data.items() if k != "user"})


def test_the_same_receivable_is_registered_once_and_the_refusal_reveals_nothing():
    c = chain()
    first = _create(c)
    colleague = member(organisation=c.supplier.organisation)
    with pytest.raises(ApplicationError) as exc:
        _create(c, user=colleague, number="  inv-2026-001 ")  # same number, spaced and lower-cased
    assert exc.value.code == "duplicate_invoice" and exc.value.status == 409
    assert str(first.pk) not in exc.value.message and first.number not in exc.value.message
    assert Invoice.objects.count() == 1
    _create(c, face_amount="1000.01")  # another amount is another receivable


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"face_amount": "0"}, "amount_not_positive"),
        ({"face_amount": "-5.00"}, "amount_not_positive"),
        ({"face_amount": "1000000000.01"}, "amount_too_large"),
        ({"due_date": TODAY - datetime.timedelta(days=1)}, "invalid_due_date"),
        ({"due_date": TODAY + datetime.timedelta(days=181)}, "tenor_too_long"),
        ({"due_date": "31/12/2026"}, "invalid_due_date"),
        ({"number": "A\x00B"}, "invalid_number"),
    ],
)
def test_bad_invoices_are_refused(over, code):
    c = chain()
    with pytest.raises(ApplicationError) as exc:
        _create(c, **over)
    assert exc.value.code == code
    assert Invoice.objects.count() == 0


def test_an_invoice_drawn_on_an_organisation_that_is_not_a_core_enterprise_is_refused():
    c = chain()
    sme = member(OrganisationKind.SME)
    with pytest.raises(ApplicationError) as exc:
        _create(c, anchor_id=sme.organisation_id)
    assert exc.value.code == "anchor_not_core_enterprise"
    with pytest.raises(ApplicationError) as exc:
        _create(c, anchor_id=c.funder.organisation_id)
    assert exc.value.code == "anchor_not_core_enterprise"
    assert Invoice.objects.count() == 0


def test_only_the_anchor_answers_and_strangers_do_not_learn_the_invoice_exists():
    c = chain()
    invoice = _create(c)
    stranger = member(OrganisationKind.CORE_ENTERPRISE)
    with pytest.raises(ApplicationError) as exc:
        services.invoice_confirm(user=stranger, invoice_id=invoice.pk)
    assert exc.value.code == "not_found" and exc.value.status == 404
    with pytest.raises(ApplicationError) as exc:
        services.invoice_confirm(user=c.supplier, invoice_id=invoice.pk)
    assert exc.value.code == "permission_denied"
    services.invoice_dispute(user=c.anchor, invoice_id=invoice.pk, reason="Quantity differs")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED and invoice.status_reason == "Quantity differs"
    services.invoice_confirm(user=c.anchor, invoice_id=invoice.pk)
    with pytest.raises(ApplicationError) as exc:
        services.invoice_reject(user=c.anchor, invoice_id=invoice.pk, reason="Changed our mind")
    assert exc.value.code == "invalid_transition"  # a confirmation is irrevocable


def test_dilution_cannot_exceed_what_is_payable():
    c = chain()
    invoice = confirmed_invoice(c, face="500.00")
    services.dilution_add(user=c.anchor, invoice_id=invoice.pk, amount="200.00", reason="Return")
    with pytest.raises(ApplicationError) as exc:
        services.dilution_add(user=c.anchor, invoice_id=invoice.pk, amount="300.01", reason="Return")
    assert exc.value.code == "dilution_too_large"
    invoice.refresh_from_db()
    assert invoice.dilution_amount == 200 and invoice.payable_amount == 300
