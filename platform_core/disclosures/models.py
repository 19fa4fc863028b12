"""Risk disclosures for regulators (DOMAIN.md sections 1 and 3; issue 11).

Invariants:
- A Snapshot is one filing of an entity's disclosure items: for a calendar month in the platform's
  time zone (`period`, the month's first day; figures as of the first instant of the next month) or
  as of any instant on demand. Its items are stored as canonical JSON; `sha256` is the hash of the
  snapshot's document (header, items, diff and the previous snapshot's hash), so the snapshots of an
  entity form a hash chain: altering or deleting one breaks the chain at the next
  (`manage.py disclosures_verify`).
- Snapshots are append-only: recomputing a period files a new version with a diff against the
  previous one. UPDATE and DELETE are refused by PostgreSQL triggers (migration 0002) and by the
  model and its queryset here.
- A threshold breach found when a period is filed becomes an Alert; alerts are acknowledged with a
  note (the one write regulators have), never deleted (a trigger refuses it).
"""

import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from platform_core.accounts.models import Organisation, PlatformEntity


class AppendOnly(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly(f"{self.model._meta.verbose_name_plural} are append-only")

    def delete(self):
        raise AppendOnly(f"{self.model._meta.verbose_name_plural} are append-only")


class KeptQuerySet(models.QuerySet):
    def delete(self):
        raise AppendOnly(f"{self.model._meta.verbose_name_plural} are never deleted")


class SnapshotKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly (filed)")
    AS_OF = "as_of", _("As of an instant (on demand)")


class Snapshot(models.Model):
    entity = models.ForeignKey(PlatformEntity, on_delete=models.PROTECT, related_name="disclosure_snapshots")
    kind = models.CharField(_("kind"), max_length=8, choices=SnapshotKind.choices)
    period = models.DateField(_("period"), null=True, blank=True, help_text=_("First day of the month (platform time zone)."))
    as_of = models.DateTimeField(_("as of"), help_text=_("The figures are those at this instant."))
    computed_at = models.DateTimeField(_("computed at"))
    rule_version = models.CharField(_("rule version"), max_length=32)
    version = models.PositiveIntegerField(_("version"), default=1)
    sequence = models.PositiveIntegerField(_("position in the entity's chain"))
    items_json = models.TextField(_("items (canonical JSON)"))
    diff_json = models.TextField(_("changes against the previous version (canonical JSON)"), blank=True)
    previous_sha256 = models.CharField(_("previous snapshot's hash"), max_length=64, blank=True)
    sha256 = models.CharField(_("hash"), max_length=64, unique=True)
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason for recomputing"), max_length=300, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("disclosure snapshot")
        verbose_name_plural = _("disclosure snapshots")
        ordering = ["entity", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "sequence"], name="snapshot_chain_position_unique"),
            models.UniqueConstraint(
                fields=["entity", "period", "version"], condition=Q(period__isnull=False), name="snapshot_period_version_unique"
            ),
            models.CheckConstraint(
                condition=(Q(kind="monthly") & Q(period__isnull=False)) | (Q(kind="as_of") & Q(period__isnull=True)),
                name="snapshot_kind_has_its_period",
            ),
        ]
        indexes = [models.Index(fields=["entity", "period", "version"])]

    def __str__(self):
        when = self.period.strftime("%Y-%m") if self.period else self.as_of.isoformat(timespec="seconds")
        return f"{self.entity} {when} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("a filed snapshot cannot be changed; recompute the period instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("a filed snapshot cannot be deleted")

    @property
    def items(self) -> dict:
        if "_items" not in self.__dict__:
            self._items = json.loads(self.items_json)
        return self._items

    @property
    def diff(self) -> dict:
        return json.loads(self.diff_json) if self.diff_json else {}


class RelatedParty(models.Model):
    """An organisation related to a platform entity (its shareholders, managers, their companies):
    loans to it are disclosed as related-party lending."""

    entity = models.ForeignKey(PlatformEntity, on_delete=models.PROTECT, related_name="related_parties")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    relation = models.CharField(_("relation"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("related party")
        verbose_name_plural = _("related parties")
        constraints = [models.UniqueConstraint(fields=["entity", "organisation"], name="related_party_unique")]

    def __str__(self):
        return f"{self.organisation} ({self.relation})"


class Comparison(models.TextChoices):
    ABOVE = "above", _("above")
    BELOW = "below", _("below")


class AlertThreshold(models.Model):
    """A limit on one disclosure item; operators edit them in the admin."""

    item_key = models.CharField(_("item"), max_length=100, unique=True)
    comparison = models.CharField(
        _("alert when the value is"), max_length=8, choices=Comparison.choices, default=Comparison.ABOVE
    )
    limit = models.DecimalField(_("limit"), max_digits=20, decimal_places=6)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert threshold")
        verbose_name_plural = _("alert thresholds")
        ordering = ["item_key"]

    def __str__(self):
        return f"{self.item_key} {self.get_comparison_display()} {self.limit.normalize()}"

    def breached_by(self, value) -> bool:
        return value > self.limit if self.comparison == Comparison.ABOVE else value < self.limit


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


class Alert(models.Model):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="alerts")
    entity = models.ForeignKey(PlatformEntity, on_delete=models.PROTECT, related_name="disclosure_alerts")
    item_key = models.CharField(_("item"), max_length=100)
    value = models.CharField(_("value"), max_length=64)
    comparison = models.CharField(_("comparison"), max_length=8, choices=Comparison.choices)
    limit = models.DecimalField(_("limit"), max_digits=20, decimal_places=6)
    status = models.CharField(_("status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    notified_at = models.DateTimeField(_("regulators e-mailed at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement_note = models.TextField(_("acknowledgement note"), blank=True)

    objects = KeptQuerySet.as_manager()

    class Meta:
        verbose_name = _("disclosure alert")
        verbose_name_plural = _("disclosure alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(
                condition=Q(status="open") | (Q(acknowledged_at__isnull=False) & ~Q(acknowledgement_note="")),
                name="alert_acknowledged_with_note",
            ),
            models.UniqueConstraint(fields=["snapshot", "item_key"], name="alert_once_per_snapshot_item"),
        ]

    def __str__(self):
        return f"{self.entity}: {self.item_key} = {self.value} ({self.get_comparison_display()} {self.limit.normalize()})"

    def delete(self, *args, **kwargs):
        raise AppendOnly("an alert is acknowledged, never deleted")
