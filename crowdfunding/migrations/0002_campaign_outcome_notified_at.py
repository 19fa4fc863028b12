from django.db import migrations, models


def mark_notified_campaigns(apps, schema_editor):
    """Campaigns whose SME was told already (the audit trail says so) are not told again."""
    Campaign = apps.get_model("crowdfunding", "Campaign")
    AuditEvent = apps.get_model("platform_core", "AuditEvent")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.filter(app_label="crowdfunding", model="campaign").first()
    if content_type is None:
        return
    told = AuditEvent.objects.filter(content_type=content_type, action="outcome_notified").values_list("object_id", flat=True)
    Campaign.objects.filter(pk__in=[int(pk) for pk in told]).update(outcome_notified_at=models.F("settled_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("crowdfunding", "0001_initial"),
        ("platform_core", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="outcome_notified_at",
            field=models.DateTimeField(blank=True, help_text="When backers and the SME were all told.", null=True),
        ),
        migrations.RunPython(mark_notified_campaigns, migrations.RunPython.noop),
    ]
