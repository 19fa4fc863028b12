"""Supply-chain finance: invoices confirmed by core enterprises (anchors), payable certificates passed
down the supply chain, and their financing by funders against a one-encumbrance registry
(DOMAIN.md section 4).

Invariants:
- An invoice's fingerprint (seller credit code, buyer credit code, invoice number, amount, issue
  date; SHA-256) is unique platform-wide: the same receivable is registered once (database
  constraint).
- Invoices, certificates and financings move only along their TRANSITIONS tables, one service per
  move (supplychain/services/), each writing an AuditEvent.
- Every invoice and certificate carries at most one active encumbrance: a PostgreSQL partial unique
  index on Encumbrance(asset) WHERE released_at IS NULL. Funding registers, settlement releases.
- A certificate's children sum to what it gave away: face = balance + sum(children's face), and
  0 <= balance <= face. Financed, frozen and matured certificates do not move.
- A programme's utilisation never exceeds the anchor's limit, a supplier's never its sub-limit, a
  funder's exposure to one debtor never its share (50%, related parties 40%) of declared risk
  assets: conditional UPDATEs in supplychain/services/limits.py, CheckConstraints here.
- Money moves only through platform_core.ledger.services.transaction_post.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from platform_core.accounts.models import Organisation, PlatformEntity
from platform_core.money import money_field, sums_to

RATE = {"max_digits": 7, "decimal_places": 6}


def business_date(now=None) -> datetime.date:
    """The platform's business date (the default time zone's calendar day)."""
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(settings.PLATFORM_DEFAULT_TIME_ZONE)).date()


# --- programmes and limits --------------------------------------------------------------------


class Product(models.TextChoices):
    PAYABLES_FINANCE = "payables_finance", _("Payables finance (the anchor invites its suppliers)")
    RECEIVABLES_FACTORING = "receivables_factoring", _("Receivables factoring (the supplier brings an invoice)")


class Programme(models.Model):
    """A funder's facility for the paper of one anchor (core enterprise)."""

    entity = models.ForeignKey(PlatformEntity, on_delete=models.PROTECT, related_name="scf_programmes")
    name = models.CharField(_("name"), max_length=200)
    funder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="funded_programmes")
    anchor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="anchor_programmes")
    product = models.CharField(_("product"), max_length=32, choices=Product.choices)
    currency = models.CharField(max_length=3, default="CNY")
    anchor_limit = money_field(verbose_name=_("anchor's credit limit"))
    supplier_sublimit = money_field(verbose_name=_("sub-limit per supplier"))
    utilised = money_field(default=0, verbose_name=_("utilised"))
    advance_rate = models.DecimalField(_("advance rate"), max_digits=5, decimal_places=4)
    annual_rate = models.DecimalField(_("annual discount rate"), **RATE, help_text=_("A fraction: 0.060000 is 6% a year."))
    day_basis = models.PositiveSmallIntegerField(_("day basis"), choices=[(360, "360"), (365, "365")], default=360)
    fee_rate = models.DecimalField(_("platform fee rate"), max_digits=6, decimal_places=5, help_text=_("Of the advance."))
    recourse = models.BooleanField(_("with recourse"), default=True)
    related_party = models.BooleanField(
        _("anchor is a related party of the funder"), default=False, help_text=_("Concentration limit 40% instead of 50%.")
    )
    max_tenor_days = models.PositiveSmallIntegerField(_("maximum tenor (days)"), default=180)
    grace_days = models.PositiveSmallIntegerField(_("grace days after maturity"), default=5)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(product__in=Product.values), name="programme_product_valid"),
            models.CheckConstraint(condition=Q(day_basis__in=[360, 365]), name="programme_day_basis_valid"),
            models.CheckConstraint(condition=Q(advance_rate__gt=0) & Q(advance_rate__lte=1), name="programme_advance_rate"),
            models.CheckConstraint(condition=Q(annual_rate__gte=0) & Q(annual_rate__lte=1), name="programme_rate_sane"),
            models.CheckConstraint(condition=Q(fee_rate__gte=0) & Q(fee_rate__lt=1), name="programme_fee_rate_sane"),
            models.CheckConstraint(
                condition=Q(max_tenor_days__gte=1) & Q(max_tenor_days__lte=365), name="programme_tenor_at_most_a_year"
            ),
            models.CheckConstraint(
                condition=Q(utilised__gte=0) & Q(utilised__lte=F("anchor_limit")), name="programme_within_anchor_limit"
            ),
            models.CheckConstraint(condition=Q(supplier_sublimit__gte=0), name="programme_sublimit_not_negative"),
        ]

    def __str__(self):
        return self.name


class SupplierLimit(models.Model):
    """One supplier's share of a programme's line: its sub-limit and what it uses of it."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="supplier_limits")
    supplier = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_supplier_limits")
    sub_limit = money_field(verbose_name=_("sub-limit"))
    utilised = money_field(default=0)

    class Meta:
        ordering = ["programme", "supplier"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "supplier"], name="supplier_limit_unique"),
            models.CheckConstraint(
                condition=Q(utilised__gte=0) & Q(utilised__lte=F("sub_limit")), name="supplier_within_sublimit"
            ),
        ]

    def __str__(self):
        return f"{self.supplier} in {self.programme}"


class FunderProfile(models.Model):
    """What a funder declares for its concentration limits: its risk assets."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="funder_profile")
    risk_assets = money_field(verbose_name=_("declared risk assets"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(risk_assets__gte=0), name="funder_risk_assets_not_negative")]

    def __str__(self):
        return f"Risk assets of {self.organisation}"


class FunderExposure(models.Model):
    """A funder's unpaid financed amount on the paper of one debtor (anchor)."""

    funder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_exposures")
    debtor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    amount = money_field(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["funder", "debtor"], name="funder_exposure_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="funder_exposure_not_negative"),
        ]

    def __str__(self):
        return f"{self.funder} on {self.debtor}: {self.amount}"


# --- invoices ---------------------------------------------------------------------------------


class InvoiceStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    CONFIRMED = "confirmed", _("Confirmed by the anchor")
    REJECTED = "rejected", _("Rejected")
    DISPUTED = "disputed", _("Disputed")
    CERTIFIED = "certified", _("Covered by a payable certificate")
    FINANCED = "financed", _("Financed")
    OVERDUE = "overdue", _("Overdue")
    DEFAULTED = "defaulted", _("Defaulted")
    PAID = "paid", _("Paid")


INVOICE_TRANSITIONS = {
    InvoiceStatus.SUBMITTED: {InvoiceStatus.CONFIRMED, InvoiceStatus.REJECTED, InvoiceStatus.DISPUTED},
    InvoiceStatus.DISPUTED: {InvoiceStatus.CONFIRMED, InvoiceStatus.REJECTED},
    InvoiceStatus.REJECTED: set(),
    InvoiceStatus.CONFIRMED: {InvoiceStatus.FINANCED, InvoiceStatus.CERTIFIED, InvoiceStatus.PAID, InvoiceStatus.OVERDUE},
    InvoiceStatus.CERTIFIED: {InvoiceStatus.PAID},
    InvoiceStatus.FINANCED: {InvoiceStatus.PAID, InvoiceStatus.OVERDUE},
    InvoiceStatus.OVERDUE: {InvoiceStatus.PAID, InvoiceStatus.DEFAULTED},
    InvoiceStatus.DEFAULTED: {InvoiceStatus.PAID},
    InvoiceStatus.PAID: set(),
}
#: Invoices whose face the anchor still owes.
INVOICE_UNPAID = {
    InvoiceStatus.CONFIRMED,
    InvoiceStatus.CERTIFIED,
    InvoiceStatus.FINANCED,
    InvoiceStatus.OVERDUE,
    InvoiceStatus.DEFAULTED,
}


class Invoice(models.Model):
    """A receivable: the supplier's invoice drawn on an anchor (its buyer)."""

    supplier = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_invoices_issued")
    anchor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_invoices_owed")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("invoice number"), max_length=64)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    face_amount = money_field(verbose_name=_("face amount"))
    currency = models.CharField(max_length=3, default="CNY")
    dilution_amount = money_field(default=0, verbose_name=_("dilution (credit notes, returns)"))
    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.SUBMITTED, db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            # the maturity run's next batch, oldest first, read in index order however much is due
            models.Index(
                fields=["due_date", "id"],
                condition=Q(status__in=["confirmed", "financed"]),
                name="invoice_due_unpaid",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"),
            models.CheckConstraint(condition=Q(face_amount__gt=0), name="invoice_face_positive"),
            models.CheckConstraint(condition=Q(due_date__gt=F("issue_date")), name="invoice_due_after_issue"),
            models.CheckConstraint(
                condition=Q(dilution_amount__gte=0) & Q(dilution_amount__lte=F("face_amount")),
                name="invoice_dilution_within_face",
            ),
            models.CheckConstraint(condition=~Q(supplier=F("anchor")), name="invoice_not_drawn_on_oneself"),
        ]

    def __str__(self):
        return f"Invoice {self.number} of {self.supplier}"

    @property
    def payable_amount(self):
        """What the anchor owes at maturity: face less dilution."""
        return self.face_amount - self.dilution_amount

    @property
    def asset_key(self) -> str:
        return f"invoice:{self.pk}"


class Dilution(models.Model):
    """A credit note or return entered by the anchor: it reduces what the anchor pays."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="dilutions")
    amount = money_field()
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="dilution_amount_positive")]

    def __str__(self):
        return f"Dilution {self.amount} of invoice {self.invoice_id}"


def document_path(instance, filename):
    return f"supplychain/documents/{instance.stored_name}"


class InvoiceDocument(models.Model):
    """A PDF or image backing an invoice: type sniffed from its bytes, stored under a generated name."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="documents")
    file = models.FileField(upload_to=document_path)
    stored_name = models.CharField(max_length=80, unique=True, editable=False)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.original_name or self.stored_name} ({self.content_type})"


# --- payable certificates ---------------------------------------------------------------------


class CertificateStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    FINANCED = "financed", _("Financed")
    OVERDUE = "overdue", _("Overdue")
    DEFAULTED = "defaulted", _("Defaulted")
    PAID = "paid", _("Matured and paid")


CERTIFICATE_TRANSITIONS = {
    CertificateStatus.ACTIVE: {
        CertificateStatus.FROZEN,
        CertificateStatus.FINANCED,
        CertificateStatus.PAID,
        CertificateStatus.OVERDUE,
    },
    CertificateStatus.FROZEN: {CertificateStatus.ACTIVE, CertificateStatus.PAID, CertificateStatus.OVERDUE},
    CertificateStatus.FINANCED: {CertificateStatus.PAID, CertificateStatus.OVERDUE},
    CertificateStatus.OVERDUE: {CertificateStatus.PAID, CertificateStatus.DEFAULTED},
    CertificateStatus.DEFAULTED: {CertificateStatus.PAID},
    CertificateStatus.PAID: set(),
}


class PayableCertificate(models.Model):
    """An anchor's e-certificate (Yunxin / Shuanglian-tong): a promise to pay its holder of record the
    balance on the due date. A holder splits part of its balance off into a child held by its own
    supplier; `face` is what the certificate was created with, `balance` what its holder still holds."""

    anchor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_certificates_issued")
    root = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="descendants")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_certificates_held")
    invoices = models.ManyToManyField(Invoice, blank=True, related_name="certificates")
    face_amount = money_field(verbose_name=_("face amount"))
    balance = money_field(verbose_name=_("balance"))
    currency = models.CharField(max_length=3, default="CNY")
    due_date = models.DateField(_("due date"))
    depth = models.PositiveSmallIntegerField(default=0, help_text=_("Tier below the anchor's first holder."))
    status = models.CharField(max_length=16, choices=CertificateStatus.choices, default=CertificateStatus.ACTIVE, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_date"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CertificateStatus.values), name="certificate_status_valid"),
            models.CheckConstraint(condition=Q(face_amount__gt=0), name="certificate_face_positive"),
            models.CheckConstraint(
                condition=Q(balance__gte=0) & Q(balance__lte=F("face_amount")), name="certificate_balance_within_face"
            ),
            models.CheckConstraint(
                condition=(Q(parent__isnull=True) & Q(root__isnull=True)) | (Q(parent__isnull=False) & Q(root__isnull=False)),
                name="certificate_root_iff_parent",
            ),
        ]

    def __str__(self):
        return f"Certificate {self.pk} ({self.balance} {self.currency})"

    @property
    def root_id_or_self(self) -> int:
        return self.root_id or self.pk

    @property
    def asset_key(self) -> str:
        return f"certificate:{self.pk}"


# --- financing and the registry ---------------------------------------------------------------


class FinancingStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    FUNDED = "funded", _("Funded")
    OVERDUE = "overdue", _("Overdue")
    DEFAULTED = "defaulted", _("Defaulted")
    PAID = "paid", _("Paid at maturity")


FINANCING_TRANSITIONS = {
    FinancingStatus.REQUESTED: {FinancingStatus.APPROVED, FinancingStatus.REJECTED, FinancingStatus.EXPIRED},
    FinancingStatus.APPROVED: {FinancingStatus.FUNDED, FinancingStatus.REJECTED, FinancingStatus.EXPIRED},
    FinancingStatus.REJECTED: set(),
    FinancingStatus.EXPIRED: set(),
    FinancingStatus.FUNDED: {FinancingStatus.PAID, FinancingStatus.OVERDUE},
    FinancingStatus.OVERDUE: {FinancingStatus.PAID, FinancingStatus.DEFAULTED},
    FinancingStatus.DEFAULTED: {FinancingStatus.PAID},
    FinancingStatus.PAID: set(),
}
#: Financings holding a share of the limits (released when paid, rejected or expired).
FINANCING_HOLDS_LIMITS = {
    FinancingStatus.REQUESTED,
    FinancingStatus.APPROVED,
    FinancingStatus.FUNDED,
    FinancingStatus.OVERDUE,
    FinancingStatus.DEFAULTED,
}
FINANCING_OPEN = {FinancingStatus.REQUESTED, FinancingStatus.APPROVED}
FINANCING_LIVE = {FinancingStatus.FUNDED, FinancingStatus.OVERDUE, FinancingStatus.DEFAULTED}


class Financing(models.Model):
    """The holder's request to a programme's funder to finance an invoice or a certificate, and what
    became of it. The price (advance, discount, fee, net) is quoted at request and fixed at funding."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="financings")
    funder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_financings_funded")
    debtor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", help_text=_("The anchor."))
    requester = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="scf_financings_requested")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="financings")
    certificate = models.ForeignKey(
        PayableCertificate, null=True, blank=True, on_delete=models.PROTECT, related_name="financings"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = money_field(verbose_name=_("amount financed (face)"))
    currency = models.CharField(max_length=3, default="CNY")
    advance_rate = models.DecimalField(max_digits=5, decimal_places=4)
    annual_rate = models.DecimalField(**RATE)
    day_basis = models.PositiveSmallIntegerField()
    fee_rate = models.DecimalField(max_digits=6, decimal_places=5)
    recourse = models.BooleanField()
    due_date = models.DateField()
    funding_date = models.DateField(help_text=_("The day the price was computed for (the funding day once funded)."))
    days = models.PositiveIntegerField()
    advance = money_field()
    discount = money_field()
    fee = money_field()
    net_amount = money_field(verbose_name=_("paid to the supplier"))
    status = models.CharField(max_length=16, choices=FinancingStatus.choices, default=FinancingStatus.REQUESTED, db_index=True)
    status_reason = models.TextField(blank=True)
    expires_at = models.DateTimeField()
    funded_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    collected = money_field(default=0, verbose_name=_("collected by the funder"))
    reserve_paid = money_field(default=0, verbose_name=_("reserve paid to the supplier"))
    recourse_claim = money_field(default=0, verbose_name=_("claim on the supplier"))
    loss = money_field(default=0, verbose_name=_("funder's loss"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_date"]), models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=FinancingStatus.values), name="financing_status_valid"),
            models.CheckConstraint(
                condition=(Q(invoice__isnull=False) & Q(certificate__isnull=True))
                | (Q(invoice__isnull=True) & Q(certificate__isnull=False)),
                name="financing_one_asset",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(advance__gt=0), name="financing_amount_positive"),
            models.CheckConstraint(condition=Q(net_amount__gt=0), name="financing_net_positive"),
            models.CheckConstraint(
                condition=sums_to(F("net_amount"), F("advance") - F("discount") - F("fee")), name="financing_price_adds_up"
            ),
        ]

    def __str__(self):
        return f"Financing {self.pk}: {self.amount} {self.currency} by {self.funder}"

    @property
    def asset(self):
        return self.invoice if self.invoice_id else self.certificate

    @property
    def asset_key(self) -> str:
        return f"invoice:{self.invoice_id}" if self.invoice_id else f"certificate:{self.certificate_id}"

    @property
    def funder_outlay(self):
        return self.advance - self.discount


class Encumbrance(models.Model):
    """The registry (Zhongdeng / UCC-1): who holds a security interest in an asset. First to register
    wins; at most one active (unreleased) entry per asset, enforced by a partial unique index."""

    asset = models.CharField(max_length=64, help_text=_("invoice:<id> or certificate:<id>"))
    financing = models.OneToOneField(Financing, on_delete=models.PROTECT, related_name="encumbrance")
    funder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset"], condition=Q(released_at__isnull=True), name="one_active_encumbrance_per_asset"
            )
        ]

    def __str__(self):
        return f"{self.asset} -> {self.funder}"


class Reminder(models.Model):
    """A maturity reminder sent once per (financing or certificate, days before)."""

    subject = models.CharField(max_length=64)
    days_before = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["subject", "days_before"], name="reminder_once")]

    def __str__(self):
        return f"{self.subject}: {self.days_before} days before {self.due_date}"
