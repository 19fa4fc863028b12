"""Crowdfunding: reward ("commodity") campaigns and equity offerings (DOMAIN.md sections 1-2).

Invariants:
- A campaign belongs to a platform entity and an SME organisation. Its status moves only along
  TRANSITIONS, one service per move (crowdfunding/services.py), each writing an AuditEvent.
- Deadlines are instants stored in UTC beside the campaign's own time zone.
- `raised_amount`, `pledge_count` and `investor_count` are counters kept by the pledge services with
  conditional UPDATEs (never read-modify-write), so the maximum, a tier's quantity and the
  equity investor cap hold under any concurrency; database constraints back each one.
- Money: a pledge moves the investor's money from wallet to the campaign's escrow account when it
  is made. Settlement empties the escrow: to the SME (less the platform fee) on success, back to
  every backer on failure or cancellation. escrow in = payouts + fees + refunds, to the cent.
- After settlement `status` is `settled`; `outcome` keeps whether it succeeded, failed or was
  cancelled.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from platform_core.accounts.models import Organisation, PlatformEntity
from platform_core.money import money_field


class CampaignKind(models.TextChoices):
    REWARD = "reward", "Reward (commodity)"
    EQUITY = "equity", "Equity"


class FundingModel(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing"
    FLEXIBLE = "flexible", "Flexible (keep what is raised)"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    REJECTED = "rejected", "Rejected"
    LIVE = "live", "Live"
    SUSPENDED = "suspended", "Suspended"
    SUCCEEDED = "succeeded", "Succeeded (settling)"
    FAILED = "failed", "Failed (refunding)"
    CANCELLED = "cancelled", "Cancelled (refunding)"
    SETTLED = "settled", "Settled"


TRANSITIONS = {
    CampaignStatus.DRAFT: {CampaignStatus.IN_REVIEW},
    CampaignStatus.IN_REVIEW: {CampaignStatus.LIVE, CampaignStatus.REJECTED},
    CampaignStatus.REJECTED: {CampaignStatus.DRAFT},
    CampaignStatus.LIVE: {CampaignStatus.SUCCEEDED, CampaignStatus.FAILED, CampaignStatus.CANCELLED, CampaignStatus.SUSPENDED},
    CampaignStatus.SUSPENDED: {CampaignStatus.LIVE, CampaignStatus.CANCELLED, CampaignStatus.FAILED},
    CampaignStatus.SUCCEEDED: {CampaignStatus.SETTLED},
    CampaignStatus.FAILED: {CampaignStatus.SETTLED},
    CampaignStatus.CANCELLED: {CampaignStatus.SETTLED},
    CampaignStatus.SETTLED: set(),
}
#: Statuses whose escrow the settlement task empties.
SETTLING = {CampaignStatus.SUCCEEDED, CampaignStatus.FAILED, CampaignStatus.CANCELLED}
#: Statuses the public can see.
PUBLIC = {CampaignStatus.LIVE, CampaignStatus.SUCCEEDED, CampaignStatus.FAILED, CampaignStatus.SETTLED}


class Campaign(models.Model):
    entity = models.ForeignKey(PlatformEntity, on_delete=models.PROTECT, related_name="campaigns")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="campaigns")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=CampaignKind.choices)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500)
    story = models.TextField(blank=True)
    category = models.CharField(max_length=32)
    cover_image = models.ImageField(upload_to="campaign_covers/%Y/%m/", blank=True)
    target_amount = money_field()
    maximum_amount = money_field(null=True, blank=True)
    funding_model = models.CharField(max_length=16, choices=FundingModel.choices, default=FundingModel.ALL_OR_NOTHING)
    currency = models.CharField(max_length=3, default="CNY")
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai")
    launched_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(help_text="An instant (stored in UTC).")
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True)
    outcome = models.CharField(max_length=16, blank=True, help_text="succeeded, failed or cancelled, once known.")
    rejection_reason = models.TextField(blank=True)
    fee_rate = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    # counters kept by the pledge services
    raised_amount = money_field(default=0)
    pledge_count = models.PositiveIntegerField(default=0)
    investor_count = models.PositiveIntegerField(default=0)
    # settlement progress, visible in the admin
    settled_at = models.DateTimeField(null=True, blank=True)
    payout_amount = money_field(default=0)
    fee_amount = money_field(default=0)
    refunded_amount = money_field(default=0)
    refunded_count = models.PositiveIntegerField(default=0)
    outcome_notified_at = models.DateTimeField(null=True, blank=True, help_text="When backers and the SME were all told.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "deadline"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=CampaignKind.values), name="campaign_kind_valid"),
            models.CheckConstraint(condition=Q(target_amount__gt=0), name="campaign_target_positive"),
            models.CheckConstraint(
                condition=Q(maximum_amount__isnull=True) | Q(maximum_amount__gte=F("target_amount")),
                name="campaign_maximum_at_least_target",
            ),
            models.CheckConstraint(
                condition=Q(maximum_amount__isnull=True) | Q(raised_amount__lte=F("maximum_amount")),
                name="campaign_raised_within_maximum",
            ),
            models.CheckConstraint(condition=Q(raised_amount__gte=0), name="campaign_raised_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind=CampaignKind.EQUITY)
                | (Q(maximum_amount__isnull=False) & Q(funding_model=FundingModel.ALL_OR_NOTHING)),
                name="campaign_equity_has_maximum_and_is_aon",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def progress_percent(self) -> int:
        if not self.target_amount:
            return 0
        return int(self.raised_amount * 100 / self.target_amount)

    @property
    def is_equity(self) -> bool:
        return self.kind == CampaignKind.EQUITY


class RewardTier(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tiers")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    minimum_amount = money_field()
    quantity_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    claimed = models.PositiveIntegerField(default=0)
    estimated_delivery = models.DateField(help_text="The first day of the month of delivery.")

    class Meta:
        ordering = ["minimum_amount", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(minimum_amount__gt=0), name="tier_minimum_positive"),
            models.CheckConstraint(
                condition=Q(quantity_limit__isnull=True) | Q(claimed__lte=F("quantity_limit")), name="tier_never_oversold"
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.minimum_amount})"

    @property
    def remaining(self) -> int | None:
        return None if self.quantity_limit is None else max(self.quantity_limit - self.claimed, 0)

    @property
    def sold_out(self) -> bool:
        return self.quantity_limit is not None and self.claimed >= self.quantity_limit


class EquityTerms(models.Model):
    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="equity_terms")
    price_per_share = money_field()
    minimum_investment = money_field()
    pre_money_valuation = money_field()
    max_investors = models.PositiveIntegerField(default=200)

    class Meta:
        verbose_name_plural = "equity terms"
        constraints = [
            models.CheckConstraint(
                condition=Q(price_per_share__gt=0) & Q(minimum_investment__gt=0) & Q(pre_money_valuation__gt=0),
                name="equity_terms_positive",
            ),
        ]

    def __str__(self):
        return f"Terms of {self.campaign}"


class PledgeStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold: reconfirm the changed offering"
    CANCELLED = "cancelled", "Cancelled and refunded"
    REFUNDED = "refunded", "Refunded (campaign did not succeed)"
    COLLECTED = "collected", "Collected (paid to the SME)"


class Pledge(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="pledges")
    backer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pledges")
    backer_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pledges",
        help_text="Set when the backer pledged for an institutional investor.",
    )
    wallet = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(RewardTier, null=True, blank=True, on_delete=models.PROTECT, related_name="pledges")
    amount = money_field()
    currency = models.CharField(max_length=3)
    shares = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=PledgeStatus.choices, default=PledgeStatus.ACTIVE)
    reconfirm_by = models.DateTimeField(null=True, blank=True)
    refund_transaction = models.ForeignKey(
        "ledger.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "status", "id"]),
            models.Index(fields=["backer", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pledge_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=PledgeStatus.values), name="pledge_status_valid"),
        ]

    def __str__(self):
        return f"Pledge {self.pk}: {self.amount} to {self.campaign_id}"


class CampaignUpdate(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    backers_only = models.BooleanField(default=False)
    is_material_change = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title
