"""Maturity reminders: 7, 3 and 1 days before the due date (settings SUPPLYCHAIN["REMINDER_DAYS"]),
to the anchor that pays and to whoever is paid (the supplier or holders, the funder). Each
(subject, days before) is recorded once (unique constraint) in the same transaction as the mail is
queued on commit, so a task run twice sends once."""

import datetime

from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from platform_core.accounts.models import User

from ..models import CertificateStatus, Invoice, InvoiceStatus, PayableCertificate, Reminder, business_date
from ._common import rules


def _emails(organisation_ids) -> list[str]:
    return sorted(
        set(User.objects.filter(organisation_id__in=list(organisation_ids)).exclude(email="").values_list("email", flat=True))
    )


def maturity_reminders_send(*, today: datetime.date | None = None) -> int:
    """Send the reminders due today; returns how many subjects were reminded."""
    today = today or business_date()
    sent = 0
    for days in sorted(rules()["REMINDER_DAYS"]):
        due = today + datetime.timedelta(days=days)
        subjects = []
        for invoice in Invoice.objects.filter(
            due_date=due, status__in=[InvoiceStatus.CONFIRMED, InvoiceStatus.FINANCED]
        ).prefetch_related("financings"):
            parties = {invoice.anchor_id, invoice.supplier_id} | {
                f.funder_id for f in invoice.financings.all() if f.status == "funded"
            }
            text = _("Invoice %(number)s: %(amount)s %(currency)s falls due on %(due)s.") % {
                "number": invoice.number,
                "amount": invoice.payable_amount,
                "currency": invoice.currency,
                "due": due.isoformat(),
            }
            subjects.append((invoice.asset_key, parties, text))
        roots = PayableCertificate.objects.filter(
            root__isnull=True,
            due_date=due,
            status__in=[CertificateStatus.ACTIVE, CertificateStatus.FINANCED, CertificateStatus.FROZEN],
        )
        for root in roots:
            tree = PayableCertificate.objects.filter(Q(pk=root.pk) | Q(root=root))
            parties = {
                root.anchor_id,
                *tree.values_list("holder_id", flat=True),
                *tree.filter(financings__status="funded").values_list("financings__funder_id", flat=True),
            }
            text = _("Payable certificate %(id)s: %(amount)s %(currency)s falls due on %(due)s.") % {
                "id": root.pk,
                "amount": root.face_amount,
                "currency": root.currency,
                "due": due.isoformat(),
            }
            subjects.append((root.asset_key, parties, text))
        for subject, parties, text in subjects:
            recipients = _emails(parties)
            try:
                with transaction.atomic():
                    Reminder.objects.create(subject=subject, days_before=days, due_date=due, recipients=recipients)
                    if recipients:
                        message = mail.EmailMessage(
                            subject=_("Maturity in %(days)d day(s)") % {"days": days}, body=text, bcc=recipients
                        )
                        transaction.on_commit(message.send)
            except IntegrityError:  # reminded already
                continue
            sent += 1
    return sent
