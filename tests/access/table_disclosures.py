"""Access rules of regulators' disclosures (issue 11): regulators and operators read every snapshot
and every item; everyone else who is signed in reads the filed monthly snapshots with their public
items only; on-demand ("as of") snapshots and alerts are staff's; only regulators acknowledge an
alert; the public page and its API are open to all."""

import datetime

from django.utils import timezone

from platform_core.accounts.models import LicenceStatus, PlatformEntity, PlatformProperty
from platform_core.disclosures.items import period_of
from platform_core.disclosures.models import AlertThreshold, Comparison
from platform_core.disclosures.services import snapshot_file

from .world import ANONYMOUS, EVERYONE, SIGNED_IN, STAFF, Rule

#: an item regulators see and the public does not (custody figures)
PRIVATE_ITEM = "fund_security.custody_balance"
#: the item the world's alert is about (an entity with no loan breaches "at least one loan")
ALERT_ITEM = "p2p.cumulative_loan_count"


def build(world):
    entity = PlatformEntity.objects.create(
        name="Matrix Disclosures Ltd",
        properties=[PlatformProperty.P2P_LENDING, PlatformProperty.COMMODITY_CROWDFUNDING],
        licence_status=LicenceStatus.LICENSED,
    )
    AlertThreshold.objects.update_or_create(item_key=ALERT_ITEM, defaults={"comparison": Comparison.BELOW, "limit": 1})
    last_month = (period_of(timezone.now()) - datetime.timedelta(days=1)).replace(day=1)
    monthly, _ = snapshot_file(entity=entity, period=last_month)
    as_of, _ = snapshot_file(entity=entity, as_of=timezone.now() - datetime.timedelta(hours=1))
    world.add("snap_monthly", monthly, monthly.sha256)
    world.add("snap_as_of", as_of, as_of.sha256)
    world.markers["private_item"] = PRIVATE_ITEM
    world.add("alert", monthly.alerts.get(item_key=ALERT_ITEM), ALERT_ITEM)


RULES = [
    # --- API ---
    Rule("api-disclosures", "GET", None, SIGNED_IN, rows={"snap_monthly": SIGNED_IN, "snap_as_of": STAFF}),
    Rule("api-disclosure", "GET", "snap_monthly", SIGNED_IN, rows={"private_item": STAFF}),
    Rule("api-disclosure", "GET", "snap_as_of", STAFF, private=STAFF),
    Rule("api-disclosures-public", "GET", None, EVERYONE, rows={"snap_monthly": EVERYONE}),
    Rule("api-alerts", "GET", None, STAFF, rows={"alert": STAFF}),
    Rule("api-alert-acknowledge", "POST", "alert", {"regulator"}, private=STAFF, data={"note": "Asked the platform why."}),
    # --- pages (the rest is in the admin, covered by the admin rows of the matrix) ---
    Rule("disclosures-public", "GET", None, EVERYONE),
]

assert ANONYMOUS in EVERYONE
