"""Payable certificates (multi-tier, as Yunxin / Shuanglian-tong; DOMAIN.md section 4).

- The anchor issues a certificate to the supplier of confirmed invoices, for at most their unpaid
  total, due on their earliest due date; the invoices become `certified` (paid through it).
- A holder splits any part of its balance off into a child certificate held by an organisation it
  names (its own supplier), tier after tier. The parent's balance falls by exactly the child's face,
  so face = balance + sum(children's faces) for every certificate, and the value of a tree never
  changes. Financed, frozen, overdue or matured certificates do not move; nor does anything due.
- Lock order: the certificate being split, then nothing else (the child is new).
"""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from platform_core.accounts.models import Organisation, OrganisationKind, User
from platform_core.audit import audit_record
from platform_core.errors import ApplicationError
from platform_core.money import parse_amount
from platform_core.state import transition

from ..models import (
    CERTIFICATE_TRANSITIONS,
    INVOICE_TRANSITIONS,
    CertificateStatus,
    Invoice,
    InvoiceStatus,
    PayableCertificate,
    business_date,
)
from ._common import entity_open, manager_of, require_manager_of, rules

NOT_FOUND = gettext_lazy("No such certificate.")


def certificate_issue(*, user: User, invoice_ids, amount=None) -> PayableCertificate:
    """The anchor issues a certificate against confirmed invoices of one supplier (face: `amount`,
    default their unpaid total)."""
    anchor = manager_of(user, kinds=(OrganisationKind.CORE_ENTERPRISE,), message=_("Only core enterprises issue certificates."))
    entity_open()
    try:
        ids = sorted({int(pk) for pk in invoice_ids})
    except (TypeError, ValueError):
        ids = []
    if not ids:
        raise ApplicationError("invalid_invoices", _("Choose at least one confirmed invoice."), field="invoices")
    with transaction.atomic():
        invoices = list(Invoice.objects.select_for_update().filter(pk__in=ids, anchor=anchor).order_by("pk"))
        if len(invoices) != len(ids):
            raise ApplicationError(
                "invalid_invoices", _("Choose confirmed invoices drawn on your organisation."), field="invoices"
            )
        if any(i.status != InvoiceStatus.CONFIRMED for i in invoices):
            raise ApplicationError(
                "invoice_not_confirmed",
                _("Only confirmed, unfinanced invoices back a certificate."),
                field="invoices",
                status=409,
            )
        if len({i.supplier_id for i in invoices}) != 1 or len({i.currency for i in invoices}) != 1:
            raise ApplicationError(
                "invalid_invoices", _("A certificate covers invoices of one supplier in one currency."), field="invoices"
            )
        currency = invoices[0].currency
        total = sum((i.payable_amount for i in invoices), start=invoices[0].face_amount * 0)
        face = total if amount in (None, "") else parse_amount(amount, currency=currency)
        if face <= 0 or face > total:
            raise ApplicationError(
                "certificate_exceeds_invoices",
                _("The face may be at most the invoices' unpaid total (%(total)s).") % {"total": total},
                field="amount",
            )
        due = min(i.due_date for i in invoices)
        if due <= business_date():
            raise ApplicationError("invoice_matured", _("These invoices are already due."), field="invoices", status=409)
        if (due - business_date()).days > rules()["MAX_TENOR_DAYS_CEILING"]:
            raise ApplicationError("tenor_too_long", _("A certificate runs at most a year."), field="invoices")
        certificate = PayableCertificate.objects.create(
            anchor=anchor,
            holder_id=invoices[0].supplier_id,
            face_amount=face,
            balance=face,
            currency=currency,
            due_date=due,
            created_by=user,
        )
        certificate.invoices.set(invoices)
        for invoice in invoices:
            transition(
                invoice,
                InvoiceStatus.CERTIFIED,
                transitions=INVOICE_TRANSITIONS,
                actor=user,
                note=f"certificate {certificate.pk}",
            )
        audit_record(certificate, action="issued", actor=user, to_value=certificate.status, data={"face": str(face)})
    return certificate


def _lock_held(user: User, certificate_id: int) -> PayableCertificate:
    certificate = PayableCertificate.objects.select_for_update().filter(pk=certificate_id).first()
    if certificate is None:
        raise ApplicationError("not_found", str(NOT_FOUND), status=404)
    from ..selectors import certificate_list

    visible = certificate_list(user=user).filter(pk=certificate.pk).exists()
    require_manager_of(user, certificate.holder_id, visible=visible, not_found=NOT_FOUND)
    return certificate


def _require_movable(certificate: PayableCertificate) -> None:
    if certificate.status != CertificateStatus.ACTIVE:
        raise ApplicationError(
            "certificate_not_transferable",
            _("A %(status)s certificate does not move.") % {"status": certificate.get_status_display().lower()},
            status=409,
        )
    if certificate.due_date <= business_date():
        raise ApplicationError("certificate_matured", _("This certificate is due; it no longer moves."), status=409)


def split_off(certificate: PayableCertificate, *, amount, holder_id: int, actor: User) -> PayableCertificate:
    """Move `amount` of a locked certificate's balance into a new child held by `holder_id`."""
    certificate.balance -= amount
    certificate.save(update_fields=["balance", "updated_at"])
    child = PayableCertificate.objects.create(
        anchor_id=certificate.anchor_id,
        root_id=certificate.root_id or certificate.pk,
        parent=certificate,
        holder_id=holder_id,
        face_amount=amount,
        balance=amount,
        currency=certificate.currency,
        due_date=certificate.due_date,
        depth=certificate.depth + 1,
        created_by=actor,
    )
    audit_record(
        certificate,
        action="split",
        actor=actor,
        from_value=certificate.balance + amount,
        to_value=certificate.balance,
        data={"child": child.pk},
    )
    audit_record(child, action="issued", actor=actor, to_value=child.status, data={"parent": certificate.pk, "face": str(amount)})
    return child


def certificate_split(*, user: User, certificate_id: int, amount, to_organisation) -> PayableCertificate:
    """Split `amount` off the holder's balance and transfer it to another registered organisation."""
    with transaction.atomic():
        certificate = _lock_held(user, certificate_id)
        amount = parse_amount(amount, currency=certificate.currency)
        _require_movable(certificate)
        if amount > certificate.balance:
            raise ApplicationError(
                "amount_exceeds_balance",
                _("You hold %(balance)s of this certificate.") % {"balance": certificate.balance},
                field="amount",
            )
        try:
            to_id = int(to_organisation)
        except (TypeError, ValueError):
            to_id = None
        if to_id == certificate.holder_id:
            raise ApplicationError("transfer_to_self", _("Name another organisation, not your own."), field="to_organisation")
        receiver = Organisation.objects.filter(pk=to_id).exclude(kind=OrganisationKind.FUNDER).first() if to_id else None
        if receiver is None or receiver.pk == certificate.anchor_id:
            raise ApplicationError(
                "unknown_organisation", _("Name a supplier organisation registered on the platform."), field="to_organisation"
            )
        return split_off(certificate, amount=amount, holder_id=receiver.pk, actor=user)


def certificate_freeze(*, actor: User, certificate_id: int, frozen: bool, note: str = "") -> PayableCertificate:
    """Operators freeze a certificate (a court order, a dispute) and unfreeze it."""
    from platform_core.accounts.services import operator_require

    operator_require(actor)
    with transaction.atomic():
        certificate = PayableCertificate.objects.select_for_update().get(pk=certificate_id)
        to = CertificateStatus.FROZEN if frozen else CertificateStatus.ACTIVE
        return transition(certificate, to, transitions=CERTIFICATE_TRANSITIONS, actor=actor, note=note)
