"""Plain functions and small serializers: snapshots and alerts as the API shows them."""

from rest_framework import serializers

from .. import selectors
from ..models import AlertStatus, Comparison, SnapshotKind


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


# --- documented shapes (the schema's word for what the functions above return) -----------------


class EntityRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class Disclosure(serializers.Serializer):
    id = serializers.IntegerField()
    entity = EntityRef()
    kind = serializers.ChoiceField(choices=SnapshotKind.choices)
    period = serializers.CharField(allow_null=True, help_text="YYYY-MM; null for a snapshot as of an instant.")
    as_of = serializers.DateTimeField()
    computed_at = serializers.DateTimeField()
    rule_version = serializers.CharField()
    version = serializers.IntegerField()
    sha256 = serializers.CharField()
    previous_sha256 = serializers.CharField(allow_blank=True, help_text="The entity's previous snapshot's hash.")


class DisclosureDetail(Disclosure):
    items = serializers.DictField(
        child=serializers.DictField(), help_text="Item key -> value, label, definition, public (the caller's items only)."
    )
    diff = serializers.DictField(child=serializers.DictField(), help_text="What changed since the period's previous version.")


class PublicDisclosures(serializers.Serializer):
    results = DisclosureDetail(many=True)


class Alert(serializers.Serializer):
    id = serializers.IntegerField()
    entity = EntityRef()
    snapshot = serializers.IntegerField()
    item = serializers.CharField()
    value = serializers.CharField()
    comparison = serializers.ChoiceField(choices=Comparison.choices)
    limit = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    created_at = serializers.DateTimeField()
    acknowledged_by = serializers.CharField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledgement_note = serializers.CharField(allow_blank=True)
