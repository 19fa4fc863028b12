"""One way to move a status along its TRANSITIONS table: refuse an illegal move, save only the
changed fields, write the audit event. Callers hold the row lock (select_for_update)."""
from django.db.models import Model

from platform_core.audit import audit_transition
from platform_core.errors import ApplicationError


def transition(subject: Model, to: str, *, transitions: dict, actor, field: str = "status", note: str = "", fields: tuple = ()) -> Model:
    current = getattr(subject, field)
    if to not in transitions[current]:
        shown = getattr(subject, f"get_{field}_display", lambda: current)().lower()
        raise ApplicationError(
            "invalid_transition", f"A {shown} {subject._meta.verbose_name} cannot become {to}.", status=409
        )
    setattr(subject, field, to)
    extra = ["updated_at"] if any(f.name == "updated_at" for f in subject._meta.concrete_fields) else []
    subject.save(update_fields=[field, *extra, *fields])
    audit_transition(subject, field=field, old=current, actor=actor, note=note)
    return subject
