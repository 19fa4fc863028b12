"""factory-boy factories for the platform core."""

import datetime

import factory
from django.contrib.auth.hashers import make_password

from platform_core.accounts.models import (
    InvestorProfile,
    KycStatus,
    MemberRole,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from platform_core.accounts.validators import credit_code_check_char, resident_id_check_char

PASSWORD = "correct-horse-battery-staple"


def credit_code(n: int) -> str:
    first17 = f"91110000{n:09d}"
    return first17 + credit_code_check_char(first17)


def resident_id(n: int) -> str:
    """A valid, distinct number for each n (one person, one account): the birth date moves on by a
    day every 1,000 numbers."""
    born = datetime.date(1990, 1, 1) + datetime.timedelta(days=n // 1000)
    first17 = f"110101{born:%Y%m%d}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    legal_name = factory.Sequence(lambda n: f"Enterprise {n} Co., Ltd.")
    credit_code = factory.Sequence(credit_code)
    kind = OrganisationKind.SME
    kyc_status = KycStatus.VERIFIED


class UserFactory(factory.django.DjangoModelFactory):
    """An individual investor whose KYC is verified."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"investor{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))
    role = Role.INVESTOR
    id_number = factory.Sequence(lambda n: resident_id(100_000 + n))  # clear of the small numbers tests type in
    kyc_status = KycStatus.VERIFIED
    profile = factory.RelatedFactory("tests.factories.InvestorProfileFactory", factory_related_name="user")


class InvestorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvestorProfile

    annual_income = "80000.00"
    net_worth = "200000.00"
    accredited = False


class SmeUserFactory(factory.django.DjangoModelFactory):
    """The owner of a verified SME."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"sme{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))
    role = Role.SME
    organisation = factory.SubFactory(OrganisationFactory)
    member_role = MemberRole.OWNER


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"staff{n}")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))
    role = Role.REGULATOR
    is_staff = True
