"""Thin Celery tasks: file last month's disclosures (beat, days 1-7 of each month), e-mail an alert."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from platform_core.accounts.models import Role, User
from platform_core.jobs import job_run

from . import services
from .models import Alert


@shared_task
def disclosures_file_last_month():
    """Safe to run any number of times: a period already filed is left as it is."""
    with job_run("disclosures-file-last-month") as outcome:
        filed = services.snapshots_file_month()
        outcome["summary"] = f"{filed} snapshot(s) filed"
    return filed


@shared_task
def alert_notify(alert_id: int):
    """E-mail the alert to every active regulator with an address, once."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("entity").filter(pk=alert_id, notified_at__isnull=True).first()
        if alert is None:
            return 0
        recipients = list(
            User.objects.filter(role=Role.REGULATOR, is_active=True)
            .exclude(email="")
            .order_by("pk")
            .values_list("email", flat=True)
        )
        if recipients:
            send_mail(
                _("Disclosure alert: %(entity)s, %(item)s") % {"entity": alert.entity, "item": alert.item_key},
                _("%(entity)s filed %(item)s = %(value)s, %(comparison)s the limit %(limit)s (snapshot %(snapshot)s).")
                % {
                    "entity": alert.entity,
                    "item": alert.item_key,
                    "value": alert.value,
                    "comparison": alert.get_comparison_display(),
                    "limit": alert.limit.normalize(),
                    "snapshot": alert.snapshot_id,
                },
                settings.DEFAULT_FROM_EMAIL,
                recipients,
            )
        alert.notified_at = timezone.now()
        alert.save(update_fields=["notified_at"])
    return len(recipients)
