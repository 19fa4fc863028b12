"""Users, organisations, roles, KYC and platform entities.

Invariants:
- Every user has exactly one role. Individual investors act for themselves; everyone else acts for
  the one organisation they belong to (SME, core enterprise, funder, institutional investor,
  warehouse). Regulators and operators belong to no organisation.
- KYC status gates every movement of money: the party whose money moves (the individual, or the
  organisation) must be `verified` (see `platform_core.accounts.services.kyc_require_verified`).
- Unified social credit codes are 18 characters with a valid check digit (GB 32100-2015) and unique.
- PlatformEntity is a licensed operator of the platform (market access and exit): applied ->
  licensed -> suspended -> exiting -> exited. Every campaign, listing and financing belongs to one;
  a plain deployment has one default entity, created by the first migration.
"""

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from platform_core.money import DECIMAL_PLACES, MAX_DIGITS

from .validators import validate_credit_code, validate_resident_id


class Role(models.TextChoices):
    INVESTOR = "investor", "Individual investor"
    SME = "sme", "SME"
    CORE_ENTERPRISE = "core_enterprise", "Core enterprise"
    FUNDER = "funder", "Funder"
    INSTITUTIONAL_INVESTOR = "institutional_investor", "Institutional investor"
    WAREHOUSE = "warehouse", "Warehouse"
    REGULATOR = "regulator", "Regulator"
    OPERATOR = "operator", "Operator"


class KycStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class OrganisationKind(models.TextChoices):
    SME = "sme", "SME"
    CORE_ENTERPRISE = "core_enterprise", "Core enterprise"
    FUNDER = "funder", "Funder (bank, factor)"
    INSTITUTIONAL_INVESTOR = "institutional_investor", "Institutional investor"
    WAREHOUSE = "warehouse", "Warehouse"


#: The role a member of an organisation of each kind has.
ROLE_FOR_ORGANISATION_KIND = {
    OrganisationKind.SME: Role.SME,
    OrganisationKind.CORE_ENTERPRISE: Role.CORE_ENTERPRISE,
    OrganisationKind.FUNDER: Role.FUNDER,
    OrganisationKind.INSTITUTIONAL_INVESTOR: Role.INSTITUTIONAL_INVESTOR,
    OrganisationKind.WAREHOUSE: Role.WAREHOUSE,
}
STAFF_ROLES = {Role.REGULATOR, Role.OPERATOR}


class Organisation(models.Model):
    legal_name = models.CharField(max_length=200)
    credit_code = models.CharField("unified social credit code", max_length=18, unique=True, validators=[validate_credit_code])
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    kyc_status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["legal_name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"),
            models.CheckConstraint(condition=Q(kyc_status__in=KycStatus.values), name="organisation_kyc_status_valid"),
        ]

    def __str__(self):
        return self.legal_name


class MemberRole(models.TextChoices):
    OWNER = "owner", "Owner"
    FINANCE = "finance", "Finance (moves money)"
    VIEWER = "viewer", "Viewer"


ID_NUMBER_UNIQUE = "user_id_number_unique"


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.INVESTOR)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    member_role = models.CharField(max_length=16, choices=MemberRole.choices, blank=True)
    # Individuals' identity, checked by the KYC provider. Organisations carry their own KYC.
    id_number = models.CharField("resident identity number", max_length=18, blank=True, validators=[validate_resident_id])
    kyc_status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=Q(organisation__isnull=True) | ~Q(role__in=[Role.INVESTOR, Role.REGULATOR, Role.OPERATOR]),
                name="user_individual_roles_have_no_organisation",
            ),
            # One person, one account: a resident identity number (normalised: the check character
            # "x" is "X") belongs to one user at most.
            models.UniqueConstraint(
                Upper("id_number"),
                condition=~Q(id_number=""),
                name=ID_NUMBER_UNIQUE,
                violation_error_message="An account with this resident identity number already exists.",
            ),
        ]

    @property
    def acts_for_organisation(self) -> bool:
        return self.organisation_id is not None

    @property
    def is_regulator(self) -> bool:
        return self.role == Role.REGULATOR

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR or self.is_superuser


class InvestorProfile(models.Model):
    """What the equity investment limits need (DOMAIN.md section 2): declared income and net worth."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="investor_profile")
    annual_income = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0, validators=[MinValueValidator(0)]
    )
    net_worth = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0, validators=[MinValueValidator(0)]
    )
    accredited = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(annual_income__gte=0) & Q(net_worth__gte=0), name="investor_profile_non_negative")
        ]

    def __str__(self):
        return f"Investor profile of {self.user}"


class KycCheck(models.Model):
    """One answer of the KYC provider about a user or an organisation."""

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="kyc_checks")
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="kyc_checks")
    provider = models.CharField(max_length=100)
    reference = models.CharField(max_length=100)
    result = models.CharField(max_length=16, choices=KycStatus.choices)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(organisation__isnull=True))
                | (Q(user__isnull=True) & Q(organisation__isnull=False)),
                name="kyc_check_one_subject",
            )
        ]

    def __str__(self):
        return f"KYC {self.result} by {self.provider} ({self.reference})"


class PlatformProperty(models.TextChoices):
    COMMODITY_CROWDFUNDING = "commodity_crowdfunding", "Commodity crowdfunding"
    EQUITY_CROWDFUNDING = "equity_crowdfunding", "Equity crowdfunding"
    P2P_LENDING = "p2p_lending", "P2P lending"
    SUPPLY_CHAIN_FINANCE = "supply_chain_finance", "Supply-chain finance"


class LicenceStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    LICENSED = "licensed", "Licensed"
    SUSPENDED = "suspended", "Suspended"
    EXITING = "exiting", "Exiting (winding down)"
    EXITED = "exited", "Exited"


LICENCE_TRANSITIONS = {
    LicenceStatus.APPLIED: {LicenceStatus.LICENSED, LicenceStatus.EXITED},
    LicenceStatus.LICENSED: {LicenceStatus.SUSPENDED, LicenceStatus.EXITING},
    LicenceStatus.SUSPENDED: {LicenceStatus.LICENSED, LicenceStatus.EXITING},
    LicenceStatus.EXITING: {LicenceStatus.EXITED},
    LicenceStatus.EXITED: set(),
}


class PlatformEntity(models.Model):
    name = models.CharField(max_length=200, unique=True)
    properties = models.JSONField(default=list, help_text="Which of the platform's properties this entity operates.")
    licence_status = models.CharField(max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.APPLIED)
    licence_number = models.CharField(max_length=100, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "platform entities"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(licence_status__in=LicenceStatus.values), name="entity_licence_status_valid"),
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_entity"),
        ]

    def __str__(self):
        return self.name

    def operates(self, prop: str) -> bool:
        return prop in self.properties

    @property
    def accepts_new_business(self) -> bool:
        return self.licence_status == LicenceStatus.LICENSED
