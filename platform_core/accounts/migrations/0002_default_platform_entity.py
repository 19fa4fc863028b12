from django.db import migrations

ALL_PROPERTIES = ["commodity_crowdfunding", "equity_crowdfunding", "p2p_lending", "supply_chain_finance"]


def create_default_entity(apps, schema_editor):
    PlatformEntity = apps.get_model("accounts", "PlatformEntity")
    if not PlatformEntity.objects.filter(is_default=True).exists():
        PlatformEntity.objects.create(
            name="Default platform entity", properties=ALL_PROPERTIES, licence_status="licensed", is_default=True
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_default_entity, migrations.RunPython.noop)]
