import pytest

from platform_core.accounts.models import PlatformEntity


@pytest.fixture
def entity(db):
    return PlatformEntity.objects.create(
        name="West Lake Lending",
        properties=["p2p_lending", "commodity_crowdfunding", "equity_crowdfunding"],
        licence_status="licensed",
    )
