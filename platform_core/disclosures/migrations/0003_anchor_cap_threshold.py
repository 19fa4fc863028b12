from decimal import Decimal

from django.db import migrations

#: The issue's default: an alert when any funder's exposure to an anchor is above its concentration cap.
THRESHOLD = ("scf.anchors_above_cap", "above", Decimal("0"))


def threshold_create(apps, schema_editor):
    AlertThreshold = apps.get_model("disclosures", "AlertThreshold")
    key, comparison, limit = THRESHOLD
    AlertThreshold.objects.get_or_create(item_key=key, defaults={"comparison": comparison, "limit": limit})


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0002_append_only_triggers")]
    operations = [migrations.RunPython(threshold_create, migrations.RunPython.noop)]
