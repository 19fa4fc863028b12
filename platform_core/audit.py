"""One way to write the audit trail: `audit_record` inside the service's transaction."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from platform_core.models import AuditEvent


def audit_record(subject: Model, *, action: str, actor=None, from_value="", to_value="", note="", data=None) -> AuditEvent:
    return AuditEvent.objects.create(
        content_type=ContentType.objects.get_for_model(subject, for_concrete_model=False),
        object_id=str(subject.pk),
        action=action,
        from_value=str(from_value or ""),
        to_value=str(to_value or ""),
        actor=actor if getattr(actor, "pk", None) else None,
        note=note,
        data=data or {},
    )


def audit_transition(subject: Model, *, field: str = "status", old, actor=None, note="", data=None) -> AuditEvent:
    """Record that `subject.<field>` moved from `old` to its current value."""
    return audit_record(
        subject, action=f"{field}_changed", actor=actor, from_value=old, to_value=getattr(subject, field), note=note, data=data
    )


def audit_trail(subject: Model):
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(subject, for_concrete_model=False), object_id=str(subject.pk)
    ).select_related("actor")
