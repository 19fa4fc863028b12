import pytest

from platform_core.accounts.models import PlatformEntity


@pytest.fixture
def entity(db):
    return PlatformEntity.objects.create(
        name="West Lake Lending",
        properties=["p2p_lending", "commodity_crowdfunding", "equity_crowdfunding"],
        licence_status="licensed",
    )


@pytest.fixture
def default_thresholds(db):
    """The issue's defaults (the data migration's; a transactional test's flush removes them)."""
    from platform_core.disclosures.models import AlertThreshold

    for key, limit in [
        ("p2p.top10_borrower_share", "0.5"),
        ("p2p.amount_overdue_rate", "0.05"),
        ("fund_security.custody_mismatches", "0"),
        ("scf.anchors_above_cap", "0"),
    ]:
        AlertThreshold.objects.get_or_create(item_key=key, defaults={"comparison": "above", "limit": limit})
    return AlertThreshold.objects.order_by("item_key")
