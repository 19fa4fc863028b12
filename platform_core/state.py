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
    lock the rows (skipping rows another transaction holds; a later run takes them), write their
    audit events in one INSERT ... SELECT (the old values read from the locked rows themselves, no
    Python object per row), then one UPDATE. Returns how many moved."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from platform_core.models import AuditEvent

    model = queryset.model
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True).values_list("pk", field))
        moving = [pk for pk, current in rows if to in transitions[current]]
        if not moving:
            return 0
        now = timezone.now()
        fields = {field: to, **(extra or {})}
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            fields["updated_at"] = now
        quote = connection.ops.quote_name
        audit = AuditEvent._meta
        columns = ["content_type", "object_id", "action", "from_value", "to_value", "actor", "note", "data", "created_at"]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(audit.db_table)} ({', '.join(quote(audit.get_field(c).column) for c in columns)}) "  # nosec B608 - identifiers from the model's meta, quoted; values are parameters
                f"SELECT %s, CAST({quote(model._meta.pk.column)} AS TEXT), %s, {quote(model._meta.get_field(field).column)}, "
                f"%s, %s, %s, '{{}}', %s FROM {quote(model._meta.db_table)} "
                f"WHERE {quote(model._meta.pk.column)} IN ({', '.join(['%s'] * len(moving))})",
                [
                    ContentType.objects.get_for_model(model).pk,
                    f"{field}_changed",
                    to,
                    actor.pk if getattr(actor, "pk", None) else None,
                    note,
                    connection.ops.adapt_datetimefield_value(now),
                    *moving,
                ],
            )
        model.objects.filter(pk__in=moving).update(**fields)
    return len(moving)
