"""One way to move a status along its TRANSITIONS table: refuse an illegal move, save only the
changed fields, write the audit event. Callers hold the row lock (select_for_update)."""

from django.db.models import Model

from platform_core.audit import audit_transition
from platform_core.errors import ApplicationError


def transition(
    subject: Model, to: str, *, transitions: dict, actor, field: str = "status", note: str = "", fields: tuple = ()
) -> Model:
    current = getattr(subject, field)
    if to not in transitions[current]:
        shown = getattr(subject, f"get_{field}_display", lambda: current)().lower()
        raise ApplicationError("invalid_transition", f"A {shown} {subject._meta.verbose_name} cannot become {to}.", status=409)
    setattr(subject, field, to)
    extra = ["updated_at"] if any(f.name == "updated_at" for f in subject._meta.concrete_fields) else []
    subject.save(update_fields=[field, *extra, *fields])
    audit_transition(subject, field=field, old=current, actor=actor, note=note)
    return subject


def transition_many(
    queryset, to: str, *, transitions: dict, actor=None, field: str = "status", note: str = "", extra: dict | None = None
) -> int:
    """Move every row of `queryset` whose move to `to` is legal, in a constant number of statements:
    lock the rows (skipping rows another transaction holds; a later run takes them), one UPDATE,
    one bulk insert of audit events. Returns how many moved."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from platform_core.models import AuditEvent

    model = queryset.model
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True).values_list("pk", field))
        moving = [(pk, current) for pk, current in rows if to in transitions[current]]
        if not moving:
            return 0
        fields = {field: to, **(extra or {})}
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            from django.utils import timezone

            fields["updated_at"] = timezone.now()
        model.objects.filter(pk__in=[pk for pk, _ in moving]).update(**fields)
        content_type = ContentType.objects.get_for_model(model)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    content_type=content_type,
                    object_id=str(pk),
                    action=f"{field}_changed",
                    from_value=current,
                    to_value=to,
                    actor=actor if getattr(actor, "pk", None) else None,
                    note=note,
                )
                for pk, current in moving
            ],
            batch_size=5000,
        )
    return len(moving)
