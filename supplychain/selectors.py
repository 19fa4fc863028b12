"""Reads of supply-chain finance, each filtered by who asks:
- a supplier (or any holder) sees its own invoices, certificates and financing requests;
- an anchor sees the paper drawn on it (its invoices, its certificates, their financings);
- a funder sees the requests made to it, and the invoices and certificates behind them;
- operators and regulators see everything; anyone else nothing (404 where existence is private).
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from platform_core.accounts.models import User

from .models import (
    CertificateStatus,
    Encumbrance,
    Financing,
    FinancingStatus,
    Invoice,
    InvoiceStatus,
    PayableCertificate,
    Programme,
)


def _staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_operator or user.is_regulator))


def _org(user):
    return user.organisation_id if user is not None and user.is_authenticated else None


def invoice_list(*, user: User, status: str = "") -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("supplier", "anchor")
    if not _staff(user):
        org = _org(user)
        if org is None:
            return qs.none()
        asked = Financing.objects.filter(invoice=OuterRef("pk"), funder_id=org)
        qs = qs.filter(Q(supplier_id=org) | Q(anchor_id=org) | Exists(asked))
    if status:
        qs = qs.filter(status=status) if status in InvoiceStatus.values else qs.none()
    return qs.order_by("-created_at", "-pk")


def invoice_get(*, user: User, invoice_id: int) -> Invoice | None:
    return invoice_list(user=user).filter(pk=invoice_id).first()


def certificate_list(*, user: User, status: str = "") -> QuerySet[PayableCertificate]:
    qs = PayableCertificate.objects.select_related("anchor", "holder", "parent__holder")
    if not _staff(user):
        org = _org(user)
        if org is None:
            return qs.none()
        asked = Financing.objects.filter(certificate=OuterRef("pk"), funder_id=org)
        qs = qs.filter(Q(holder_id=org) | Q(anchor_id=org) | Exists(asked))
    if status:
        qs = qs.filter(status=status) if status in CertificateStatus.values else qs.none()
    return qs.order_by("-created_at", "-pk")


def certificate_get(*, user: User, certificate_id: int) -> PayableCertificate | None:
    return certificate_list(user=user).filter(pk=certificate_id).first()


def certificate_chain(certificate: PayableCertificate) -> list[PayableCertificate]:
    """The certificate and its ancestors back to the anchor's first one (root first), in one query."""
    root_id = certificate.root_id or certificate.pk
    tree = {c.pk: c for c in PayableCertificate.objects.filter(Q(pk=root_id) | Q(root_id=root_id)).select_related("holder")}
    chain, node = [], tree.get(certificate.pk)
    while node is not None:
        chain.append(node)
        node = tree.get(node.parent_id)
    return list(reversed(chain))


def financing_list(*, user: User, status: str = "") -> QuerySet[Financing]:
    qs = Financing.objects.select_related("programme", "funder", "requester", "debtor", "invoice", "certificate")
    if not _staff(user):
        org = _org(user)
        if org is None:
            return qs.none()
        qs = qs.filter(Q(requester_id=org) | Q(funder_id=org) | Q(debtor_id=org))
    if status:
        qs = qs.filter(status=status) if status in FinancingStatus.values else qs.none()
    return qs.order_by("-created_at", "-pk")


def financing_get(*, user: User, financing_id: int) -> Financing | None:
    return financing_list(user=user).filter(pk=financing_id).first()


def programme_list(*, user: User) -> QuerySet[Programme]:
    qs = Programme.objects.select_related("funder", "anchor")
    if not _staff(user):
        org = _org(user)
        if org is None:
            return qs.none()
        if user.organisation.kind in ("funder", "core_enterprise"):
            qs = qs.filter(Q(funder_id=org) | Q(anchor_id=org))
        else:
            qs = qs.filter(active=True)  # suppliers choose among active programmes
    return qs.order_by("name", "pk")


def registry_lookup(*, user: User, asset: str) -> list[Encumbrance] | None:
    """The registry's entries for one asset ("invoice:<id>" or "certificate:<id>"), newest first; None
    when the user may not ask: staff, the asset's holder and the anchor may, and a funder only about
    an asset it has been asked to fund."""
    kind, _sep, raw_id = (asset or "").partition(":")
    if kind not in ("invoice", "certificate") or not raw_id.isdigit() or len(raw_id) > 18:
        return None
    asset_id = int(raw_id)
    if not _staff(user):
        visible = (
            invoice_list(user=user).filter(pk=asset_id) if kind == "invoice" else certificate_list(user=user).filter(pk=asset_id)
        )
        if not visible.exists():
            return None
    return list(Encumbrance.objects.filter(asset=f"{kind}:{asset_id}").select_related("funder").order_by("-registered_at", "-pk"))
