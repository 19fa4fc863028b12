"""From a confirmed invoice to the anchor's payment at maturity, to the cent (DOMAIN.md section 4)."""

import datetime
from decimal import Decimal

import pytest

from platform_core.errors import ApplicationError
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import AccountPurpose
from platform_core.ledger.services import system_account
from platform_core.models import AuditEvent
from supplychain import services
from supplychain.models import Encumbrance, FinancingStatus, InvoiceStatus, Programme, SupplierLimit, business_date
from tests.p2p.factories import business_day

from .factories import balance, chain, confirmed_invoice, deposit, funded, member

pytestmark = pytest.mark.django_db

D = Decimal


def test_worked_discount_example_1000_at_6_percent_for_20_days_basis_360():
    c = chain(annual_rate="0.06", day_basis=360, fee_rate="0")
    invoice = confirmed_invoice(c, face="1000.00", days=20)

    quote = services.financing_quote(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)

    assert (quote["advance"], quote["discount"], quote["fee"], quote["net_amount"]) == (
        D("1000.00"),
        D("3.33"),
        D("0.00"),
        D("996.67"),
    )
    assert quote["days"] == 20 and quote["already_encumbered"] is False

    deposit(c.funder, "5000.00")
    deposit(c.anchor, "1000.00")
    financing = funded(c, invoice)

    assert financing.status == FinancingStatus.FUNDED
    assert balance(c.supplier) == "996.67"
    assert balance(c.funder) == "4003.33"
    with business_day(invoice.due_date):
        assert services.maturities_settle()["paid"] == 1
    assert balance(c.anchor) == "0.00"
    assert balance(c.funder) == "5003.33"  # 1,000.00 collected on 996.67 paid out: 3.33 of discount income
    assert balance(c.supplier) == "996.67"  # no reserve at 100% advance
    invoice.refresh_from_db()
    financing.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and financing.status == FinancingStatus.PAID
    assert financing.collected == D("1000.00") and financing.reserve_paid == D("0.00")
    assert ledger_problems() == []


def test_factoring_with_80_percent_advance_fee_and_dilution_worked_through():
    c = chain(product="receivables_factoring", annual_rate="0.072", day_basis=360, fee_rate="0.002")
    assert c.programme.advance_rate == D("0.8000")  # the rule pack's factoring default
    invoice = confirmed_invoice(c, face="50000.00", days=90)
    deposit(c.funder, "100000.00")
    deposit(c.anchor, "100000.00")
    fee_income = system_account(AccountPurpose.FEE_INCOME)
    fees_before = fee_income.balance

    financing = funded(c, invoice)

    assert (financing.advance, financing.discount, financing.fee, financing.net_amount) == (
        D("40000.00"),
        D("720.00"),
        D("80.00"),
        D("39200.00"),
    )
    assert balance(c.funder) == "60720.00"  # the funder paid 39,280.00
    assert balance(c.supplier) == "39200.00"
    fee_income.refresh_from_db()
    assert fee_income.balance - fees_before == D("80.00")
    assert Encumbrance.objects.filter(asset=invoice.asset_key, released_at__isnull=True).count() == 1

    services.dilution_add(user=c.anchor, invoice_id=invoice.pk, amount="2000.00", reason="Credit note CN-7 for a return")

    with business_day(invoice.due_date):
        services.maturities_settle()

    assert balance(c.anchor) == "52000.00"  # paid 48,000.00 = face - dilution
    assert balance(c.funder) == "100720.00"  # kept 40,000.00: its outlay plus 720.00 of discount income
    assert balance(c.supplier) == "47200.00"  # 39,200.00 + the reserve 8,000.00 = 48,000 - 720 - 80
    financing.refresh_from_db()
    assert (financing.collected, financing.reserve_paid, financing.recourse_claim) == (D("40000.00"), D("8000.00"), D("0.00"))
    assert not Encumbrance.objects.filter(asset=invoice.asset_key, released_at__isnull=True).exists()
    programme = Programme.objects.get(pk=c.programme.pk)
    assert programme.utilised == D("0.00")
    assert SupplierLimit.objects.get(programme=programme).utilised == D("0.00")
    assert ledger_problems() == []


def test_an_anchor_that_cannot_pay_leaves_the_financing_overdue_then_defaulted_with_a_claim_on_the_supplier():
    c = chain(product="receivables_factoring", annual_rate="0.072", fee_rate="0.002", grace_days=5, recourse=True)
    invoice = confirmed_invoice(c, face="50000.00", days=30)
    deposit(c.funder, "50000.00")
    financing = funded(c, invoice)

    with business_day(invoice.due_date):
        assert services.maturities_settle()["unpaid"] == 1
    financing.refresh_from_db()
    invoice.refresh_from_db()
    assert financing.status == FinancingStatus.OVERDUE and invoice.status == InvoiceStatus.OVERDUE

    with business_day(invoice.due_date + datetime.timedelta(days=5)):  # still within the grace days
        services.overdue_sweep()
    financing.refresh_from_db()
    assert financing.status == FinancingStatus.OVERDUE

    with business_day(invoice.due_date + datetime.timedelta(days=6)):
        assert services.overdue_sweep()["defaulted"] == 2  # the financing and its invoice
    financing.refresh_from_db()
    invoice.refresh_from_db()
    assert financing.status == FinancingStatus.DEFAULTED and invoice.status == InvoiceStatus.DEFAULTED
    assert financing.recourse_claim == D("40000.00") and financing.loss == D("0.00")

    deposit(c.anchor, "50000.00")  # the anchor pays late: the sweep settles it and the claim is gone
    with business_day(invoice.due_date + datetime.timedelta(days=7)):
        assert services.overdue_sweep()["paid"] == 1
    financing.refresh_from_db()
    assert financing.status == FinancingStatus.PAID and financing.recourse_claim == D("0.00")
    assert balance(c.supplier) == "49680.00"  # 39,680.00 at funding (30 days of discount: 240.00) + the reserve
    assert ledger_problems() == []


def test_without_recourse_the_default_is_the_funders_loss():
    c = chain(annual_rate="0.06", recourse=False, grace_days=0)
    invoice = confirmed_invoice(c, face="1000.00", days=10)
    deposit(c.funder, "1000.00")
    financing = funded(c, invoice)
    with business_day(invoice.due_date):
        services.maturities_settle()
    with business_day(invoice.due_date + datetime.timedelta(days=1)):
        services.overdue_sweep()
    financing.refresh_from_db()
    assert financing.status == FinancingStatus.DEFAULTED
    assert (financing.recourse_claim, financing.loss) == (D("0.00"), D("1000.00"))


def test_an_unfinanced_confirmed_invoice_is_paid_to_its_supplier_at_maturity():
    c = chain()
    invoice = confirmed_invoice(c, face="700.00", days=15)
    services.dilution_add(user=c.anchor, invoice_id=invoice.pk, amount="100.00", reason="Short delivery")
    deposit(c.anchor, "1000.00")
    with business_day(invoice.due_date):
        services.maturities_settle()
        services.maturities_settle()  # a second run finds nothing to do
    assert balance(c.supplier) == "600.00" and balance(c.anchor) == "400.00"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert ledger_problems() == []


def test_state_changes_write_audit_rows():
    c = chain()
    invoice = confirmed_invoice(c)
    deposit(c.funder, "2000.00")
    financing = funded(c, invoice)
    actions = set(
        AuditEvent.objects.filter(object_id=str(financing.pk), content_type__model="financing").values_list("to_value", flat=True)
    )
    assert {"requested", "approved", "funded"} <= actions
    assert AuditEvent.objects.filter(content_type__model="invoice", object_id=str(invoice.pk), to_value="financed").exists()


def test_funding_by_a_funder_that_did_not_approve_is_refused_and_moves_nothing():
    c = chain()
    invoice = confirmed_invoice(c)
    deposit(c.funder, "2000.00")
    financing = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    with pytest.raises(ApplicationError) as exc:
        services.financing_fund(user=c.funder, financing_id=financing.pk)
    assert exc.value.code == "financing_not_approved"
    assert balance(c.funder) == "2000.00" and balance(c.supplier) == "0.00"


@pytest.mark.parametrize("status", ["unconfirmed", "disputed", "financed", "matured"])
def test_financing_refused_for_assets_that_cannot_be_financed(status):
    c = chain()
    deposit(c.funder, "5000.00")
    if status == "unconfirmed":
        invoice = services.invoice_create(
            user=c.supplier,
            anchor_id=c.anchor.organisation_id,
            number="X-1",
            issue_date=business_date() - datetime.timedelta(days=1),
            due_date=business_date() + datetime.timedelta(days=30),
            face_amount="100.00",
        )
        code = "asset_not_financeable"
    elif status == "disputed":
        invoice = services.invoice_create(
            user=c.supplier,
            anchor_id=c.anchor.organisation_id,
            number="X-2",
            issue_date=business_date() - datetime.timedelta(days=1),
            due_date=business_date() + datetime.timedelta(days=30),
            face_amount="100.00",
        )
        services.invoice_dispute(user=c.anchor, invoice_id=invoice.pk, reason="Goods not received")
        code = "asset_not_financeable"
    elif status == "financed":
        invoice = confirmed_invoice(c)
        funded(c, invoice)
        code = "asset_already_financed"
    else:
        invoice = confirmed_invoice(c, days=5)
        code = "asset_matured"
    utilised = Programme.objects.get(pk=c.programme.pk).utilised
    with pytest.raises(ApplicationError) as exc:
        if status == "matured":
            with business_day(invoice.due_date):
                services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
        else:
            services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    assert exc.value.code == code
    assert Programme.objects.get(pk=c.programme.pk).utilised == utilised


def test_a_rejected_or_expired_request_gives_its_limits_back():
    c = chain()
    first, second = confirmed_invoice(c, face="300.00"), confirmed_invoice(c, face="200.00")
    a = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=first.pk)
    b = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=second.pk)
    assert Programme.objects.get(pk=c.programme.pk).utilised == D("500.00")
    services.financing_reject(user=c.funder, financing_id=a.pk, reason="Outside our appetite")
    assert Programme.objects.get(pk=c.programme.pk).utilised == D("200.00")
    moved, more = services.financings_expire(now=b.expires_at + datetime.timedelta(seconds=1))
    assert (moved, more) == (1, False)
    b.refresh_from_db()
    assert b.status == FinancingStatus.EXPIRED
    assert Programme.objects.get(pk=c.programme.pk).utilised == D("0.00")


def test_limits_refuse_with_their_own_codes():
    c = chain(anchor_limit="1000.00", supplier_sublimit="600.00", risk_assets="1000.00")
    # concentration: 50% of 1,000.00 declared risk assets = 500.00 on this anchor
    big = confirmed_invoice(c, face="700.00")
    with pytest.raises(ApplicationError) as exc:
        services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=big.pk)
    assert exc.value.code == "supplier_limit_exceeded"
    mid = confirmed_invoice(c, face="550.00")
    with pytest.raises(ApplicationError) as exc:
        services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=mid.pk)
    assert exc.value.code == "concentration_limit_exceeded"
    assert Programme.objects.get(pk=c.programme.pk).utilised == D("0.00")  # nothing kept of a refused request
    services.funder_risk_assets_declare(user=c.funder, risk_assets="100000.00")
    services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=mid.pk)
    second_supplier = member()
    other = confirmed_invoice(c, face="500.00", supplier=second_supplier)
    with pytest.raises(ApplicationError) as exc:
        services.financing_request(user=second_supplier, programme_id=c.programme.pk, invoice_id=other.pk, amount="460.00")
    assert exc.value.code == "anchor_limit_exceeded"  # 550 + 460 > 1,000, though within the second supplier's sub-limit
    assert not SupplierLimit.objects.filter(supplier=second_supplier.organisation, utilised__gt=0).exists()


@pytest.mark.parametrize(("recourse", "claim", "loss"), [(True, "2000.00", "0.00"), (False, "0.00", "2000.00")])
def test_dilution_beyond_the_reserve_is_a_claim_on_the_supplier_or_the_funders_loss(recourse, claim, loss):
    c = chain(product="receivables_factoring", annual_rate="0.072", fee_rate="0.002", recourse=recourse)
    invoice = confirmed_invoice(c, face="50000.00", days=90)
    deposit(c.funder, "100000.00")
    deposit(c.anchor, "100000.00")
    financing = funded(c, invoice)
    services.dilution_add(user=c.anchor, invoice_id=invoice.pk, amount="12000.00", reason="Half the lot returned")

    with business_day(invoice.due_date):
        services.maturities_settle()

    financing.refresh_from_db()
    assert balance(c.anchor) == "62000.00"  # paid 38,000.00 = face - dilution
    assert balance(c.funder) == "98720.00"  # collected all of it: 38,000.00 on 39,280.00 paid out
    assert balance(c.supplier) == "39200.00"  # no reserve left
    assert (financing.collected, financing.reserve_paid) == (D("38000.00"), D("0.00"))
    assert (financing.recourse_claim, financing.loss) == (D(claim), D(loss))  # the 2,000.00 below the advance
    assert ledger_problems() == []
