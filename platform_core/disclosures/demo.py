"""Disclosure demo data: platform entities as in the paper's Fig. 1 beside the default one, each with
its last three months filed (hash-chained), and one open alert for the regulator (the others
acknowledged). Idempotent: entities and campaigns are looked up by name, filed months stay filed."""

import datetime
from decimal import Decimal

from django.utils import timezone

from crowdfunding.models import Campaign, CampaignStatus
from platform_core.accounts.models import LicenceStatus, PlatformEntity, User
from platform_core.accounts.services import entity_default

from .items import period_of
from .models import Alert, AlertStatus
from .services import alert_acknowledge, snapshot_file

#: (entity, property, kind, [(raised, backers)] of its past successful campaigns, failed ones)
FIG_1_ENTITIES = [
    ("Jingdong Crowdfunding", "commodity_crowdfunding", "reward", [("762000.00", 2958), ("540000.00", 1712)], 1),
    ("Taobao Crowdfunding", "commodity_crowdfunding", "reward", [("513200.00", 4598)], 2),
    ("Angel Collection", "equity_crowdfunding", "equity", [("9677400.00", 8), ("2500000.00", 11)], 3),
]
MONTHS_FILED = 3


def _months_back(now) -> list[datetime.date]:
    month = period_of(now)
    months = []
    for _ in range(MONTHS_FILED):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


def _history(entity, sme, kind, won, failed, months):
    if Campaign.objects.filter(entity=entity).exists():
        return
    deadlines = [timezone.now().replace(day=1) - datetime.timedelta(days=10 + 25 * i) for i in range(len(won) + failed)]
    for i, deadline in enumerate(deadlines):
        success = i < len(won)
        raised, backers = won[i] if success else ("3000.00", 0)
        target = Decimal(raised) if success else Decimal("50000.00")
        Campaign.objects.create(
            entity=entity,
            organisation=sme.organisation,
            created_by=sme,
            kind=kind,
            title=f"{entity.name} project {i + 1} (history)",
            summary="A past project of this platform entity, for its statistics.",
            category="other",
            target_amount=target,
            maximum_amount=target if kind == "equity" else None,
            deadline=deadline,
            launched_at=deadline - datetime.timedelta(days=30),
            status=CampaignStatus.SETTLED,
            outcome="succeeded" if success else "failed",
            raised_amount=Decimal(raised) if success else Decimal("0.00"),
            pledge_count=backers,
            settled_at=deadline,
        )


def seed():
    now = timezone.now()
    months = _months_back(now)
    sme = User.objects.get(username="sme")
    entities = [entity_default()]
    for name, prop, kind, won, failed in FIG_1_ENTITIES:
        entity, created = PlatformEntity.objects.get_or_create(
            name=name,
            defaults={
                "properties": [prop],
                "licence_status": LicenceStatus.LICENSED,
                "licence_number": f"DEMO-{name[:3].upper()}",
            },
        )
        _history(entity, sme, kind, won, failed, months)
        entities.append(entity)
    started = now - datetime.timedelta(days=31 * (MONTHS_FILED + 1))
    PlatformEntity.objects.filter(pk__in=[e.pk for e in entities], created_at__gt=started).update(created_at=started)
    for entity in entities:
        for month in months:
            snapshot_file(entity=entity, period=month, now=now)
    regulator = User.objects.get(username="regulator")
    open_alerts = list(Alert.objects.filter(status=AlertStatus.OPEN).order_by("-created_at", "-pk"))
    for alert in open_alerts[1:]:  # one left open for the regulator to look at
        alert_acknowledge(user=regulator, alert_id=alert.pk, note="Reviewed with the platform's risk officer (demo).")
    return [("(disclosures)", "", "/admin/disclosures/ - regulator: filed months, Fig. 1, custody, alerts; /disclosures/ public")]
