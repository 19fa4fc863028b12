"""Fixtures of the platform-core tests: parties in the states the money rules care about."""

import pytest

from platform_core.accounts.models import KycStatus, MemberRole

from ..factories import OrganisationFactory, SmeUserFactory, UserFactory


@pytest.fixture
def pending_investor(db):
    """An individual investor whose KYC has not come back yet."""
    return UserFactory(kyc_status=KycStatus.PENDING)


@pytest.fixture
def sme_org(db):
    return OrganisationFactory()


@pytest.fixture
def sme_viewer(sme_org):
    """A member of a verified SME who may look but not move its money."""
    return SmeUserFactory(organisation=sme_org, member_role=MemberRole.VIEWER)


@pytest.fixture
def sme_finance(sme_org):
    return SmeUserFactory(organisation=sme_org, member_role=MemberRole.FINANCE)
