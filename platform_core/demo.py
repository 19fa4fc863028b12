"""Demo data of the platform core: one log-in per role, verified, with money in the wallets.
Running it again changes nothing (everything is looked up by name first)."""

from decimal import Decimal

from django.db import transaction

from platform_core.accounts.models import (
    ROLE_FOR_ORGANISATION_KIND,
    InvestorProfile,
    KycStatus,
    MemberRole,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from platform_core.accounts.validators import credit_code_check_char, resident_id_check_char
from platform_core.ledger import services as ledger

DEMO_PASSWORD = "demo-pass-2026"

ORGANISATIONS = [
    ("sme", "Hangzhou Green Tea Co., Ltd.", OrganisationKind.SME),
    ("sme2", "Ningbo Precision Parts Co., Ltd.", OrganisationKind.SME),
    ("anchor", "Zhejiang Auto Group Co., Ltd.", OrganisationKind.CORE_ENTERPRISE),
    ("funder", "Pearl River Commercial Factoring Co., Ltd.", OrganisationKind.FUNDER),
    ("fund", "West Lake Venture Fund", OrganisationKind.INSTITUTIONAL_INVESTOR),
    ("warehouse", "Yangtze Bonded Warehouse Co., Ltd.", OrganisationKind.WAREHOUSE),
]
INVESTORS = [
    ("investor", "120000.00", "300000.00", False),
    ("investor2", "60000.00", "90000.00", False),
    ("angel", "900000.00", "5000000.00", True),
]
OPENING_DEPOSIT = {
    "investor": "100000.00",
    "investor2": "50000.00",
    "angel": "1000000.00",
    "sme": "20000.00",
    "funder": "5000000.00",
    "fund": "2000000.00",
}


def _credit_code(n: int) -> str:
    first17 = f"9133010{n:010d}"
    return first17 + credit_code_check_char(first17)


def _resident_id(n: int) -> str:
    first17 = f"33010619850101{n:03d}"
    return first17 + resident_id_check_char(first17)


def _user(username: str, **fields) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.invalid", **fields})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def seed() -> list[tuple[str, str, str]]:
    """Returns (username, role, what to look at) for the log-in table."""
    logins = []
    operator = _user("operator", role=Role.OPERATOR, is_staff=True, is_superuser=True)
    logins.append((operator.username, "operator", "/admin/ - everything, approve campaigns and listings"))
    regulator = _user("regulator", role=Role.REGULATOR, is_staff=True)
    logins.append((regulator.username, "regulator", "/admin/ - read-only: ledger, disclosures, audit trail"))
    for n, (username, income, worth, accredited) in enumerate(INVESTORS, start=1):
        user = _user(username, role=Role.INVESTOR, id_number=_resident_id(n), kyc_status=KycStatus.VERIFIED)
        InvestorProfile.objects.get_or_create(
            user=user, defaults={"annual_income": Decimal(income), "net_worth": Decimal(worth), "accredited": accredited}
        )
        logins.append((username, "investor" + (" (accredited)" if accredited else ""), "/wallet/"))
    for n, (username, legal_name, kind) in enumerate(ORGANISATIONS, start=1):
        organisation, _ = Organisation.objects.get_or_create(
            credit_code=_credit_code(n), defaults={"legal_name": legal_name, "kind": kind, "kyc_status": KycStatus.VERIFIED}
        )
        _user(username, role=ROLE_FOR_ORGANISATION_KIND[kind], organisation=organisation, member_role=MemberRole.OWNER)
        logins.append((username, ROLE_FOR_ORGANISATION_KIND[kind].label, f"/wallet/ - {legal_name}"))
    for username, amount in OPENING_DEPOSIT.items():
        user = User.objects.get(username=username)
        if not ledger.wallet_of_user(user).legs.exists():
            ledger.deposit_create(user=user, amount=amount)
    return logins
