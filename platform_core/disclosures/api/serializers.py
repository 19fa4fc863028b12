"""Plain functions and small serializers: snapshots and alerts as the API shows them."""

from rest_framework import serializers

from .. import selectors


def snapshot_data(snapshot, *, user=None, with_items: bool = False) -> dict:
    data = {
        "id": snapshot.pk,
        "entity": {"id": snapshot.entity_id, "name": snapshot.entity.name},
        "kind": snapshot.kind,
        "period": snapshot.period.strftime("%Y-%m") if snapshot.period else None,
        "as_of": snapshot.as_of.isoformat(),
        "computed_at": snapshot.computed_at.isoformat(),
        "rule_version": snapshot.rule_version,
        "version": snapshot.version,
        "sha256": snapshot.sha256,
        "previous_sha256": snapshot.previous_sha256,
    }
    if with_items:
        data["items"] = selectors.items_visible(snapshot, user)
        data["diff"] = {key: change for key, change in snapshot.diff.items() if _item_of(key) in data["items"]}
    return data


def _item_of(diff_key: str) -> str:
    """A diff key is an item's key, or an item's key and a currency (item.CNY)."""
    return diff_key if diff_key.count(".") < 2 or not diff_key.rsplit(".", 1)[1].isupper() else diff_key.rsplit(".", 1)[0]


def alert_data(alert) -> dict:
    return {
        "id": alert.pk,
        "entity": {"id": alert.entity_id, "name": alert.entity.name},
        "snapshot": alert.snapshot_id,
        "item": alert.item_key,
        "value": alert.value,
        "comparison": alert.comparison,
        "limit": str(alert.limit.normalize()),
        "status": alert.status,
        "created_at": alert.created_at.isoformat(),
        "acknowledged_by": alert.acknowledged_by.username if alert.acknowledged_by_id else None,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledgement_note": alert.acknowledgement_note,
    }


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=False)
