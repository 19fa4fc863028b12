"""Payable certificates: issued by the anchor, split and passed down the supply chain, financed,
and paid to every holder of record at maturity."""

import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_core.accounts.models import OrganisationKind
from platform_core.errors import ApplicationError
from platform_core.ledger.checks import ledger_problems
from supplychain import services
from supplychain.models import CertificateStatus, FinancingStatus, InvoiceStatus, PayableCertificate
from tests.p2p.factories import business_day
from tests.platform_core.api_helpers import assert_error

from .factories import balance, chain, confirmed_invoice, deposit, member

pytestmark = pytest.mark.django_db

D = Decimal


def _tree_is_whole(root: PayableCertificate) -> None:
    """face = balance + children's faces for every certificate; the balances add up to the root's face."""
    tree = list(PayableCertificate.objects.filter(pk=root.pk) | PayableCertificate.objects.filter(root=root))
    children = defaultdict(lambda: D("0"))
    for c in tree:
        if c.parent_id:
            children[c.parent_id] += c.face_amount
    for c in tree:
        assert c.face_amount == c.balance + children[c.pk], c
    assert sum(c.balance for c in tree) == root.face_amount


def test_issue_split_down_three_tiers_finance_and_pay_every_holder_at_maturity(api_as):
    c = chain(annual_rate="0.06", fee_rate="0")
    first = confirmed_invoice(c, face="6000.00", days=30)
    second = confirmed_invoice(c, face="4500.00", days=40)
    tier2, tier3 = member(OrganisationKind.SME), member(OrganisationKind.SME)
    root = services.certificate_issue(user=c.anchor, invoice_ids=[first.pk, second.pk], amount="10000.00")
    assert (root.face_amount, root.due_date, root.holder_id) == (D("10000.00"), first.due_date, c.supplier.organisation_id)
    first.refresh_from_db()
    assert first.status == InvoiceStatus.CERTIFIED

    child = services.certificate_split(
        user=c.supplier, certificate_id=root.pk, amount="4000.00", to_organisation=tier2.organisation_id
    )
    grandchild = services.certificate_split(
        user=tier2, certificate_id=child.pk, amount="1500.00", to_organisation=tier3.organisation_id
    )
    _tree_is_whole(root)

    chain_shown = api_as(tier3).get(f"/api/v1/certificates/{grandchild.pk}/").json()["chain"]
    assert [row["holder"]["id"] for row in chain_shown] == [
        c.supplier.organisation_id,
        tier2.organisation_id,
        tier3.organisation_id,
    ]
    assert_error(api_as(tier3).get(f"/api/v1/certificates/{root.pk}/"), 404, "not_found")  # the chain, not the others' balances

    deposit(c.funder, "5000.00")
    financing = services.financing_request(user=tier2, programme_id=c.programme.pk, certificate_id=child.pk, amount="1000.00")
    financed_part = financing.certificate
    assert financed_part.parent_id == child.pk and financed_part.holder_id == tier2.organisation_id
    services.financing_approve(user=c.funder, financing_id=financing.pk)
    financing = services.financing_fund(user=c.funder, financing_id=financing.pk)
    assert financing.discount == D("5.00")  # 1,000 x 6% x 30 / 360
    assert balance(tier2) == "995.00"
    with pytest.raises(ApplicationError) as exc:
        services.certificate_split(
            user=tier2, certificate_id=financed_part.pk, amount="1.00", to_organisation=tier3.organisation_id
        )
    assert exc.value.code == "certificate_not_transferable"
    _tree_is_whole(root)

    deposit(c.anchor, "11000.00")
    with business_day(root.due_date):
        result = services.maturities_settle()
    assert result["certificates_paid"] == 1
    # the anchor pays the face of the certificate and the 500.00 its invoices owe beyond it
    assert balance(c.anchor) == "500.00"
    assert balance(c.supplier) == str(D("6000.00") + D("500.00"))
    assert balance(tier2) == str(D("995.00") + D("1500.00"))  # its unfinanced balance; the financed 1,000 went to the funder
    assert balance(tier3) == "1500.00"
    assert balance(c.funder) == "5005.00"
    financing.refresh_from_db()
    assert financing.status == FinancingStatus.PAID
    assert set(PayableCertificate.objects.filter(root=root).values_list("status", flat=True)) == {CertificateStatus.PAID}
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID
    assert ledger_problems() == []


def test_bad_splits_are_refused_and_move_nothing(api_as):
    c = chain()
    invoice = confirmed_invoice(c, face="1000.00", days=30)
    root = services.certificate_issue(user=c.anchor, invoice_ids=[invoice.pk])
    tier2 = member(OrganisationKind.SME)
    client = api_as(c.supplier)
    url = f"/api/v1/certificates/{root.pk}/split/"
    for body, status, code in [
        ({"amount": "0", "to_organisation": tier2.organisation_id}, 400, "amount_not_positive"),
        ({"amount": "1000.01", "to_organisation": tier2.organisation_id}, 400, "amount_exceeds_balance"),
        ({"amount": "10.00", "to_organisation": c.supplier.organisation_id}, 400, "transfer_to_self"),
        ({"amount": "10.00", "to_organisation": 987654}, 400, "unknown_organisation"),
        ({"amount": "10.00", "to_organisation": "abc"}, 400, "unknown_organisation"),
    ]:
        assert_error(client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex), status, code)
    assert_error(
        api_as(tier2).post(
            url, {"amount": "1.00", "to_organisation": tier2.organisation_id}, format="json", HTTP_IDEMPOTENCY_KEY="x"
        ),
        404,
        "not_found",
    )
    with business_day(root.due_date):
        assert_error(
            client.post(
                url, {"amount": "1.00", "to_organisation": tier2.organisation_id}, format="json", HTTP_IDEMPOTENCY_KEY="late"
            ),
            409,
            "certificate_matured",
        )
    root.refresh_from_db()
    assert root.balance == D("1000.00") and PayableCertificate.objects.count() == 1


def test_a_frozen_certificate_does_not_move():
    c = chain()
    root = services.certificate_issue(user=c.anchor, invoice_ids=[confirmed_invoice(c).pk])
    services.certificate_freeze(actor=c.operator, certificate_id=root.pk, frozen=True, note="Court order")
    with pytest.raises(ApplicationError) as exc:
        services.certificate_split(
            user=c.supplier, certificate_id=root.pk, amount="1.00", to_organisation=member().organisation_id
        )
    assert exc.value.code == "certificate_not_transferable"


def test_a_certificate_cannot_exceed_its_invoices_nor_cover_unconfirmed_ones():
    c = chain()
    invoice = confirmed_invoice(c, face="1000.00")
    with pytest.raises(ApplicationError) as exc:
        services.certificate_issue(user=c.anchor, invoice_ids=[invoice.pk], amount="1000.01")
    assert exc.value.code == "certificate_exceeds_invoices"
    services.invoice_create(
        user=c.supplier,
        anchor_id=c.anchor.organisation_id,
        number="U-1",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        face_amount="5.00",
    )
    from supplychain.models import Invoice

    unconfirmed = Invoice.objects.get(number="U-1")
    with pytest.raises(ApplicationError) as exc:
        services.certificate_issue(user=c.anchor, invoice_ids=[invoice.pk, unconfirmed.pk])
    assert exc.value.code == "invoice_not_confirmed"
    assert PayableCertificate.objects.count() == 0


SPLITS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=30), st.integers(min_value=1, max_value=100), st.integers(min_value=0, max_value=3)
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(splits=SPLITS)
def test_random_split_chains_conserve_value_and_maturity_pays_exactly_the_face(splits):
    with transaction.atomic():
        c = chain()
        orgs = [c.supplier] + [member(OrganisationKind.SME) for _ in range(3)]
        invoice = confirmed_invoice(c, face="997.13", days=45)
        root = services.certificate_issue(user=c.anchor, invoice_ids=[invoice.pk])
        for pick, percent, to in splits:
            held = list(
                PayableCertificate.objects.filter(pk=root.pk) | PayableCertificate.objects.filter(root=root, balance__gt=0)
            )
            held = [h for h in held if h.balance > 0]
            source = held[pick % len(held)]
            holder = next(u for u in orgs if u.organisation_id == source.holder_id)
            receiver = orgs[to] if orgs[to].organisation_id != source.holder_id else orgs[(to + 1) % len(orgs)]
            amount = max((source.balance * percent / 100).quantize(D("0.01")), D("0.01"))
            services.certificate_split(
                user=holder, certificate_id=source.pk, amount=amount, to_organisation=receiver.organisation_id
            )
            _tree_is_whole(root)
        owed = defaultdict(lambda: D("0.00"))
        for cert in PayableCertificate.objects.filter(pk=root.pk) | PayableCertificate.objects.filter(root=root):
            owed[cert.holder_id] += cert.balance
        deposit(c.anchor, "2000.00")
        with business_day(root.due_date):
            assert services.certificate_settle(root_id=root.pk) is True
        assert balance(c.anchor) == str(D("2000.00") - D("997.13"))  # exactly the face
        for user in orgs:
            assert balance(user) == str(owed[user.organisation_id])
        assert ledger_problems() == []
        transaction.set_rollback(True)
