"""Supply-chain demo data: an anchor (Zhejiang Auto Group) with two tiers of suppliers (Hangzhou Green Tea
and Ningbo Precision Parts; below Ningbo, Wenzhou Fasteners and Lishui Rubber), a funder
with two programmes, invoices in every state, a certificate split twice down the chain, one
financing that matured and paid out (reserve and all), and one overdue on a second anchor that did
not pay. Idempotent: nothing is added when the payables programme exists."""

import datetime
from decimal import Decimal

from django.utils import timezone

from platform_core.accounts.models import KycStatus, MemberRole, Organisation, OrganisationKind, Role, User
from platform_core.demo import _credit_code, _user
from platform_core.ledger import services as ledger

from . import services
from .models import Invoice, Programme, business_date

PROGRAMME = "Zhejiang Auto payables programme"
ORGANISATIONS = [  # (username, legal name, kind, number for the credit code)
    ("sme3", "Wenzhou Fasteners Co., Ltd.", OrganisationKind.SME, 101),
    ("sme4", "Lishui Rubber Co., Ltd.", OrganisationKind.SME, 102),
    ("anchor2", "Suzhou Electronics Group Co., Ltd.", OrganisationKind.CORE_ENTERPRISE, 103),
]
ROLE = {OrganisationKind.SME: Role.SME, OrganisationKind.CORE_ENTERPRISE: Role.CORE_ENTERPRISE}


def _organisation_user(username, legal_name, kind, n) -> User:
    organisation, _ = Organisation.objects.get_or_create(
        credit_code=_credit_code(n), defaults={"legal_name": legal_name, "kind": kind, "kyc_status": KycStatus.VERIFIED}
    )
    return _user(username, role=ROLE[kind], organisation=organisation, member_role=MemberRole.OWNER)


def _at(day: datetime.date) -> datetime.datetime:
    """Noon of a business day, as an aware datetime (what `now` would have been then)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)), timezone.get_fixed_timezone(8 * 60))


def _invoice(supplier, anchor, number, *, face, issued_days_ago, due_in, confirm=True):
    today = business_date()
    invoice = services.invoice_create(
        user=supplier,
        anchor_id=anchor.organisation_id,
        number=number,
        issue_date=today - datetime.timedelta(days=issued_days_ago),
        due_date=today + datetime.timedelta(days=due_in),
        face_amount=face,
    )
    if confirm:
        services.invoice_confirm(user=anchor, invoice_id=invoice.pk)
    return invoice


def _confirmed_on(invoice, at: datetime.datetime) -> None:
    """Back-date a demo confirmation (the service stamps the present) to the day the paper was financed,
    so the regulators' filed months show the confirmation beside the financing."""
    Invoice.objects.filter(pk=invoice.pk).update(confirmed_at=at)


def _funded(supplier, funder, programme, invoice, *, at=None, amount=None):
    financing = services.financing_request(user=supplier, programme_id=programme.pk, invoice_id=invoice.pk, amount=amount, now=at)
    services.financing_approve(user=funder, financing_id=financing.pk)
    return services.financing_fund(user=funder, financing_id=financing.pk, now=at)


def seed():
    logins = [("(supply chain)", "", "/scf/ - anchor, funder, sme, sme2, sme3, sme4: each its own dashboard")]
    extra = {u: _organisation_user(u, name, kind, n) for u, name, kind, n in ORGANISATIONS}
    logins += [(u, ROLE[kind].label, f"/scf/ - {name}") for u, name, kind, _ in ORGANISATIONS]
    if Programme.objects.filter(name=PROGRAMME).exists():
        return logins
    operator, anchor, funder = (User.objects.get(username=u) for u in ("operator", "anchor", "funder"))
    sme, sme2 = User.objects.get(username="sme"), User.objects.get(username="sme2")
    sme3, sme4, anchor2 = extra["sme3"], extra["sme4"], extra["anchor2"]
    today = business_date()

    payables = services.programme_create(
        actor=operator,
        name=PROGRAMME,
        funder_id=funder.organisation_id,
        anchor_id=anchor.organisation_id,
        product="payables_finance",
        anchor_limit="5000000.00",
        supplier_sublimit="1000000.00",
        annual_rate="0.06",
        fee_rate="0.002",
    )
    factoring = services.programme_create(
        actor=operator,
        name="Suzhou Electronics factoring",
        funder_id=funder.organisation_id,
        anchor_id=anchor2.organisation_id,
        product="receivables_factoring",
        anchor_limit="2000000.00",
        supplier_sublimit="500000.00",
        annual_rate="0.072",
        fee_rate="0.002",
        grace_days=5,
    )
    services.funder_risk_assets_declare(user=funder, risk_assets="20000000.00")

    # An overdue factoring: Suzhou Electronics (no money in its wallet) did not pay three days ago.
    overdue = _invoice(sme, anchor2, "SE-2026-0311", face="50000.00", issued_days_ago=60, due_in=-3)
    _confirmed_on(overdue, _at(today - datetime.timedelta(days=34)))
    _funded(sme, funder, factoring, overdue, at=_at(today - datetime.timedelta(days=33)))
    services.maturities_settle(now=_at(today - datetime.timedelta(days=3)))

    # One matured and paid out: funded 40 days ago, paid by the anchor 5 days ago, dilution and reserve.
    ledger.deposit_create(user=anchor, amount="3000000.00")
    matured = _invoice(sme, anchor, "ZA-2026-0107", face="120000.00", issued_days_ago=70, due_in=-5)
    services.dilution_add(user=anchor, invoice_id=matured.pk, amount="1500.00", reason="Returned 30 defective brackets")
    _confirmed_on(matured, _at(today - datetime.timedelta(days=41)))
    _funded(sme, funder, payables, matured, at=_at(today - datetime.timedelta(days=40)))
    services.maturities_settle(now=_at(today - datetime.timedelta(days=5)))

    # Every other state, on the anchor's paper. (Money reaches only Hangzhou Green Tea: Ningbo's empty
    # wallet keeps its P2P loan in arrears, as the P2P demo intends.)
    _invoice(sme2, anchor, "ZA-2026-0412", face="86000.00", issued_days_ago=2, due_in=88, confirm=False)  # submitted
    rejected = _invoice(sme2, anchor, "ZA-2026-0398", face="12000.00", issued_days_ago=5, due_in=60, confirm=False)
    services.invoice_reject(user=anchor, invoice_id=rejected.pk, reason="No purchase order matches this invoice")
    disputed = _invoice(sme2, anchor, "ZA-2026-0405", face="43500.00", issued_days_ago=4, due_in=75, confirm=False)
    services.invoice_dispute(user=anchor, invoice_id=disputed.pk, reason="Quantity delivered differs from the invoice")
    _invoice(sme2, anchor, "ZA-2026-0350", face="64000.00", issued_days_ago=20, due_in=70)  # confirmed: could raise today
    financed = _invoice(sme, anchor, "ZA-2026-0330", face="250000.00", issued_days_ago=25, due_in=45)
    _funded(sme, funder, payables, financed)
    asked = _invoice(sme, anchor, "ZA-2026-0362", face="38000.00", issued_days_ago=10, due_in=50)
    services.financing_request(user=sme, programme_id=payables.pk, invoice_id=asked.pk)  # waits for the funder

    # A certificate passed down two tiers: Ningbo -> Wenzhou Fasteners -> Lishui Rubber.
    backing = _invoice(sme2, anchor, "ZA-2026-0301", face="300000.00", issued_days_ago=30, due_in=90)
    root = services.certificate_issue(user=anchor, invoice_ids=[backing.pk])
    tier2 = services.certificate_split(
        user=sme2, certificate_id=root.pk, amount="120000.00", to_organisation=sme3.organisation_id
    )
    services.certificate_split(user=sme3, certificate_id=tier2.pk, amount="45000.00", to_organisation=sme4.organisation_id)
    assert root.face_amount == Decimal("300000.00")
    return logins
