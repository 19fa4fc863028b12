"""Invoices (receivables): registration by the supplier, the anchor's answer (confirm: an
irrevocable undertaking to pay the face on the due date; reject; dispute), and dilution.

- The fingerprint (seller credit code, buyer credit code, invoice number, amount, issue date) is
  unique platform-wide (DOMAIN.md section 4): a second registration of the same receivable, by
  anyone, is refused with `duplicate_invoice`, and the answer says nothing about the first.
- Due date after the issue date, at most MAX_TENOR_DAYS (default 180, never above 365) after it.
- Dilution (credit notes, returns) lowers what the anchor pays; never below zero, and not once the
  invoice is paid or covered by a certificate (the certificate's holders were promised its face).
"""

import datetime
import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from platform_core.accounts.models import Organisation, OrganisationKind, User
from platform_core.audit import audit_record
from platform_core.errors import ApplicationError
from platform_core.money import currency_check, default_currency, parse_amount
from platform_core.state import transition

from ..models import INVOICE_TRANSITIONS, Dilution, Invoice, InvoiceStatus
from ._common import SUPPLIER_KINDS, entity_open, manager_of, require_manager_of, rules

NOT_FOUND = gettext_lazy("No such invoice.")


def invoice_fingerprint(*, seller_code: str, buyer_code: str, number: str, amount, issue_date: datetime.date) -> str:
    canonical = "|".join(
        [seller_code.upper(), buyer_code.upper(), " ".join(number.split()).upper(), f"{amount:.2f}", issue_date.isoformat()]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _date(raw, field: str) -> datetime.date:
    if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
        return raw
    try:
        return datetime.date.fromisoformat(str(raw).strip())
    except (TypeError, ValueError):
        raise ApplicationError(f"invalid_{field}", _("Enter a date as YYYY-MM-DD."), field=field) from None


def _clean_text(raw, *, field: str, max_length: int, required: bool = True) -> str:
    text = " ".join(str(raw or "").split())
    if "\x00" in text or len(text) > max_length or (required and not text):
        raise ApplicationError(
            f"invalid_{field}", _("Enter at most %(n)d printable characters.") % {"n": max_length}, field=field
        )
    return text


def invoice_create(
    *, user: User, anchor_id, number: str, issue_date, due_date, face_amount, currency: str | None = None
) -> Invoice:
    """The supplier registers an invoice drawn on an anchor; the anchor is asked to confirm it."""
    supplier = manager_of(user, kinds=SUPPLIER_KINDS, message=_("Only suppliers (SMEs, core enterprises) register invoices."))
    entity_open()
    currency = currency_check(currency or default_currency())
    try:
        anchor = Organisation.objects.filter(pk=int(anchor_id)).first()
    except (TypeError, ValueError):
        anchor = None
    if anchor is None or anchor.kind != OrganisationKind.CORE_ENTERPRISE:
        raise ApplicationError(
            "anchor_not_core_enterprise", _("Choose a core enterprise registered here as the buyer."), field="anchor"
        )
    if anchor.pk == supplier.pk:
        raise ApplicationError("anchor_not_core_enterprise", _("An invoice cannot be drawn on its own issuer."), field="anchor")
    number = _clean_text(number, field="number", max_length=64)
    amount = parse_amount(face_amount, currency=currency, field="face_amount")
    issued, due = _date(issue_date, "issue_date"), _date(due_date, "due_date")
    if due <= issued:
        raise ApplicationError("invalid_due_date", _("The due date must come after the issue date."), field="due_date")
    max_tenor = min(rules()["MAX_TENOR_DAYS"], rules()["MAX_TENOR_DAYS_CEILING"])
    if (due - issued).days > max_tenor:
        raise ApplicationError(
            "tenor_too_long",
            _("The due date may be at most %(days)d days after the issue date.") % {"days": max_tenor},
            field="due_date",
        )
    fingerprint = invoice_fingerprint(
        seller_code=supplier.credit_code, buyer_code=anchor.credit_code, number=number, amount=amount, issue_date=issued
    )
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                supplier=supplier,
                anchor=anchor,
                created_by=user,
                number=number,
                issue_date=issued,
                due_date=due,
                face_amount=amount,
                currency=currency,
                fingerprint=fingerprint,
            )
            audit_record(invoice, action="created", actor=user, to_value=invoice.status)
    except IntegrityError:
        raise ApplicationError(
            "duplicate_invoice",
            _("This invoice cannot be registered: the same receivable is already on the platform."),
            status=409,
        ) from None
    return invoice


def invoice_visible_to(user: User, invoice: Invoice) -> bool:
    from ..selectors import invoice_list

    return invoice_list(user=user).filter(pk=invoice.pk).exists()


def _anchor_lock(user: User, invoice_id: int) -> Invoice:
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise ApplicationError("not_found", str(NOT_FOUND), status=404)
        require_manager_of(user, invoice.anchor_id, visible=invoice_visible_to(user, invoice), not_found=NOT_FOUND)
        return invoice


def invoice_confirm(*, user: User, invoice_id: int) -> Invoice:
    """The anchor's irrevocable undertaking to pay the face (less dilution) on the due date."""
    with transaction.atomic():
        invoice = _anchor_lock(user, invoice_id)
        invoice.confirmed_at = timezone.now()
        return transition(invoice, InvoiceStatus.CONFIRMED, transitions=INVOICE_TRANSITIONS, actor=user, fields=("confirmed_at",))


def _refuse(*, user: User, invoice_id: int, to: str, reason: str) -> Invoice:
    reason = _clean_text(reason, field="reason", max_length=2000)
    with transaction.atomic():
        invoice = _anchor_lock(user, invoice_id)
        invoice.status_reason = reason
        return transition(invoice, to, transitions=INVOICE_TRANSITIONS, actor=user, note=reason, fields=("status_reason",))


def invoice_reject(*, user: User, invoice_id: int, reason: str) -> Invoice:
    return _refuse(user=user, invoice_id=invoice_id, to=InvoiceStatus.REJECTED, reason=reason)


def invoice_dispute(*, user: User, invoice_id: int, reason: str) -> Invoice:
    return _refuse(user=user, invoice_id=invoice_id, to=InvoiceStatus.DISPUTED, reason=reason)


DILUTABLE = {
    InvoiceStatus.SUBMITTED,
    InvoiceStatus.DISPUTED,
    InvoiceStatus.CONFIRMED,
    InvoiceStatus.FINANCED,
    InvoiceStatus.OVERDUE,
}


def dilution_add(*, user: User, invoice_id: int, amount, reason: str) -> Dilution:
    """The anchor enters a credit note or a return: what it pays at maturity falls by `amount`."""
    reason = _clean_text(reason, field="reason", max_length=300)
    with transaction.atomic():
        invoice = _anchor_lock(user, invoice_id)
        amount = parse_amount(amount, currency=invoice.currency)
        if invoice.status not in DILUTABLE:
            raise ApplicationError(
                "invoice_not_dilutable",
                _("A %(status)s invoice takes no dilution.") % {"status": invoice.get_status_display().lower()},
                status=409,
            )
        if amount > invoice.payable_amount:
            raise ApplicationError(
                "dilution_too_large",
                _("A dilution cannot exceed what is still payable (%(payable)s).") % {"payable": invoice.payable_amount},
                field="amount",
            )
        dilution = Dilution.objects.create(invoice=invoice, amount=amount, reason=reason, created_by=user)
        old = invoice.dilution_amount
        invoice.dilution_amount = old + amount
        invoice.save(update_fields=["dilution_amount", "updated_at"])
        audit_record(invoice, action="diluted", actor=user, from_value=old, to_value=invoice.dilution_amount, note=reason)
    return dilution
