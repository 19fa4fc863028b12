from django.contrib import admin

from platform_core.admin_base import ReadOnlyAdmin

from .models import AuditEvent, JobRun

admin.site.site_header = "SME Finance administration"
admin.site.site_title = "SME Finance admin"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "content_type", "object_id", "action", "from_value", "to_value", "actor"]
    list_filter = ["content_type", "action"]
    search_fields = ["object_id", "note"]
    list_select_related = ["content_type", "actor"]
    date_hierarchy = "created_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "last_ok", "runs", "last_summary"]
