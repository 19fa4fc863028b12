"""Supply-chain parties and paper built through the services: a confirmed invoice really was
registered by its supplier and confirmed by its anchor."""

import datetime
import uuid
from dataclasses import dataclass

from platform_core.accounts.models import MemberRole, Organisation, OrganisationKind, Role, User
from platform_core.ledger import services as ledger
from supplychain import services
from supplychain.models import Invoice, Programme, business_date
from tests.factories import OrganisationFactory, SmeUserFactory, StaffUserFactory

ROLE_OF = {
    OrganisationKind.SME: Role.SME,
    OrganisationKind.CORE_ENTERPRISE: Role.CORE_ENTERPRISE,
    OrganisationKind.FUNDER: Role.FUNDER,
}


def member(kind: str = OrganisationKind.SME, organisation: Organisation | None = None, **extra) -> User:
    """The owner (or `member_role`) of a verified organisation of `kind`."""
    organisation = organisation or OrganisationFactory(kind=kind)
    extra.setdefault("member_role", MemberRole.OWNER)
    return SmeUserFactory(organisation=organisation, role=ROLE_OF[organisation.kind], **extra)


def deposit(user: User, amount: str) -> None:
    ledger.deposit_create(user=user, amount=amount)


def balance(user_or_org) -> str:
    party = user_or_org.organisation if isinstance(user_or_org, User) else user_or_org
    return str(ledger.wallet_for(party).balance)


@dataclass
class Chain:
    anchor: User
    funder: User
    supplier: User
    operator: User
    programme: Programme


def chain(
    *,
    product="payables_finance",
    annual_rate="0.06",
    advance_rate=None,
    fee_rate="0",
    day_basis=360,
    anchor_limit="1000000.00",
    supplier_sublimit="500000.00",
    risk_assets="10000000.00",
    recourse=True,
    grace_days=5,
    related_party=False,
) -> Chain:
    anchor = member(OrganisationKind.CORE_ENTERPRISE)
    funder = member(OrganisationKind.FUNDER)
    supplier = member(OrganisationKind.SME)
    operator = StaffUserFactory(role="operator")
    programme = services.programme_create(
        actor=operator,
        name=f"Programme {uuid.uuid4().hex[:6]}",
        funder_id=funder.organisation_id,
        anchor_id=anchor.organisation_id,
        product=product,
        anchor_limit=anchor_limit,
        supplier_sublimit=supplier_sublimit,
        annual_rate=annual_rate,
        advance_rate=advance_rate,
        fee_rate=fee_rate,
        day_basis=day_basis,
        recourse=recourse,
        grace_days=grace_days,
        related_party=related_party,
    )
    if risk_assets:
        services.funder_risk_assets_declare(user=funder, risk_assets=risk_assets)
    return Chain(anchor=anchor, funder=funder, supplier=supplier, operator=operator, programme=programme)


def confirmed_invoice(c: Chain, *, face="1000.00", days=20, supplier: User | None = None, number=None, today=None) -> Invoice:
    today = today or business_date()
    invoice = services.invoice_create(
        user=supplier or c.supplier,
        anchor_id=c.anchor.organisation_id,
        number=number or f"INV-{uuid.uuid4().hex[:8]}",
        issue_date=today - datetime.timedelta(days=10),
        due_date=today + datetime.timedelta(days=days),
        face_amount=face,
    )
    return services.invoice_confirm(user=c.anchor, invoice_id=invoice.pk)


def funded(c: Chain, invoice: Invoice, *, amount=None):
    financing = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk, amount=amount)
    services.financing_approve(user=c.funder, financing_id=financing.pk)
    return services.financing_fund(user=c.funder, financing_id=financing.pk)
