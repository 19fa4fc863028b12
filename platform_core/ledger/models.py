"""Double-entry ledger with client funds in custody (DOMAIN.md section 6; django-hordak's model).

Accounts, transactions and legs:
- A leg's `amount` is signed: a debit is positive, a credit negative. The legs of one transaction
  sum to zero per currency; there are at least two. PostgreSQL enforces this at commit with a
  deferred constraint trigger, and refuses UPDATE and DELETE of posted legs and transactions
  (migration 0002), so not even raw SQL can unbalance or rewrite the books. Corrections are new,
  reversing transactions.
- An account's `balance` is kept in its natural sign (what a holder would call its balance):
  `balance = side * sum(legs)` where side is +1 for debit-normal accounts (assets: the custody
  account at the custodian bank, the platform's own bank account) and -1 for credit-normal ones
  (what the platform owes: wallets, escrows; its fee income). It is a cache of the legs, updated in
  the posting transaction under a row lock; `ledger_check` proves it equals the sum of the legs.
- Client money (wallets, escrows, payouts in flight) is mirrored by the custody account: custody
  balance == sum of client balances, per currency. The platform's fee income is moved out of
  custody into the platform's own bank account in the same transaction that earns it, so client
  money and the platform's money are never mixed (2016 Interim Measures Art. 28).
- No account may go below zero unless it is flagged `allow_negative` (a database CheckConstraint
  backs the service's check).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from platform_core.accounts.models import Organisation
from platform_core.money import DECIMAL_PLACES, MAX_DIGITS


class AccountPurpose(models.TextChoices):
    WALLET = "wallet", "Wallet"
    ESCROW = "escrow", "Escrow"
    PAYOUTS_PENDING = "payouts_pending", "Withdrawals in flight"
    CUSTODY = "custody", "Custody account at the custodian bank"
    FEE_INCOME = "fee_income", "Platform fee income"
    PLATFORM_BANK = "platform_bank", "Platform's own bank account"
    FUNDER = "funder", "Funder"


DEBIT_NORMAL = {AccountPurpose.CUSTODY, AccountPurpose.PLATFORM_BANK}
CLIENT_MONEY = {AccountPurpose.WALLET, AccountPurpose.ESCROW, AccountPurpose.PAYOUTS_PENDING, AccountPurpose.FUNDER}


def side_of(purpose: str) -> int:
    return 1 if purpose in DEBIT_NORMAL else -1


class Account(models.Model):
    key = models.CharField(max_length=200, unique=True, help_text="Stable identity, e.g. wallet:user:7:CNY.")
    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=32, choices=AccountPurpose.choices)
    currency = models.CharField(max_length=3)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    owner_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    balance = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    allow_negative = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=AccountPurpose.values), name="account_purpose_valid"),
            models.CheckConstraint(condition=Q(allow_negative=True) | Q(balance__gte=0), name="account_not_overdrawn"),
            models.CheckConstraint(
                condition=Q(owner_user__isnull=True) | Q(owner_organisation__isnull=True), name="account_one_owner"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.currency})"

    @property
    def side(self) -> int:
        return side_of(self.purpose)


class Transaction(models.Model):
    kind = models.CharField(max_length=64)
    memo = models.CharField(max_length=300, blank=True)
    reference = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Business key of the operation; posting the same reference twice has one effect.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.kind}"


class Leg(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="legs")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, help_text="Debit +, credit -.")
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"])]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="leg_amount_not_zero")]

    def __str__(self):
        return f"{self.account} {self.amount:+}"

    @property
    def natural_amount(self):
        """The change this leg made to its account's natural balance."""
        return self.amount * self.account.side


class PaymentDirection(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending at the gateway"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


PAYMENT_TRANSITIONS = {
    PaymentStatus.PENDING: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED},
    PaymentStatus.SUCCEEDED: set(),
    PaymentStatus.FAILED: set(),
}


class Payment(models.Model):
    """Money crossing the platform's edge through the payment gateway: into a wallet or out of it."""

    direction = models.CharField(max_length=16, choices=PaymentDirection.choices)
    wallet = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    gateway = models.CharField(max_length=100)
    gateway_reference = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="When it was sent to the gateway (once).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=Q(direction__in=PaymentDirection.values), name="payment_direction_valid"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.amount} {self.currency} ({self.status})"


class IdempotencyKey(models.Model):
    """A client-chosen key per money-moving request (Stripe's semantics, DOMAIN.md section 6)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self):
        return f"{self.user_id}:{self.key}"
