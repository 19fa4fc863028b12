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
    queryset,
    to: str,
    *,
    transitions: dict,
    actor=None,
    field: str = "status",
    note: str = "",
    extra: dict | None = None,
    values: dict[str, dict] | None = None,
) -> int:
    """Move every row of `queryset` whose move to `to` is legal, in a constant number of statements:
    lock the rows (skipping rows another transaction holds; a later run takes them), write their
    audit events from the old values read from the locked rows themselves (no Python object per
    row), then update them. Returns how many moved.

    On PostgreSQL that is two statements whatever the number of rows: the locking SELECT, then the
    UPDATE with the INSERT of the audit rows from the old values (the ids as one array parameter);
    filter a large batch of ids with `platform_core.db.ids_in`, one array parameter rather than
    thousands of placeholders.
    Elsewhere: a locking SELECT, one INSERT ... SELECT, one UPDATE. `extra` holds plain values set
    on every row moved; `values` ({field: {pk: value}}) sets row by row, in the same UPDATE (so each
    row gets one new version, not two), the moved rows found in it."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from platform_core.models import AuditEvent

    model = queryset.model
    sources = [current for current, targets in transitions.items() if to in targets]
    if not sources:
        return 0
    now = timezone.now()
    fields = {field: to, **(extra or {})}
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        fields["updated_at"] = now
    quote = connection.ops.quote_name
    audit = AuditEvent._meta
    columns = ["content_type", "object_id", "action", "from_value", "to_value", "actor", "note", "data", "created_at"]
    audit_into = f"INSERT INTO {quote(audit.db_table)} ({', '.join(quote(audit.get_field(c).column) for c in columns)}) "
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    column = quote(model._meta.get_field(field).column)
    audit_params = [
        ContentType.objects.get_for_model(model).pk,
        f"{field}_changed",
        to,
        actor.pk if getattr(actor, "pk", None) else None,
        note,
        connection.ops.adapt_datetimefield_value(now),
    ]
    with transaction.atomic(savepoint=False):
        locking = queryset.filter(**{f"{field}__in": sources}).order_by("pk").values_list("pk", field)
        if connection.vendor != "postgresql":
            moving = [pk_value for pk_value, _ in locking.select_for_update(skip_locked=True)]
            if not moving:
                return 0
            with connection.cursor() as cursor:
                cursor.execute(
                    audit_into  # nosec B608 - identifiers from the model's meta, quoted; values are parameters
                    + f"SELECT %s, CAST({pk} AS TEXT), %s, {column}, %s, %s, %s, '{{}}', %s FROM {table} "  # nosec B608 - identifiers from the model's meta, quoted; values are parameters
                    f"WHERE {pk} IN ({', '.join(['%s'] * len(moving))})",
                    [*audit_params, *moving],
                )
            model.objects.filter(pk__in=moving).update(**fields)
            if values:
                from platform_core.db import rows_update

                (first, first_values), *more = values.items()
                kept = [pk_value for pk_value in moving if pk_value in first_values]
                rows_update(model, first, {k: first_values[k] for k in kept}, *((n, {k: v[k] for k in kept}) for n, v in more))
            return len(moving)
        rows = list(locking.select_for_update(skip_locked=True, of=("self",)))
        if not rows:
            return 0
        ids = [pk_value for pk_value, _ in rows]
        sets, set_params = [], []
        for name, value in fields.items():
            db_field = model._meta.get_field(name)
            sets.append(f"{quote(db_field.column)} = %s")
            set_params.append(db_field.get_db_prep_save(value, connection))
        arrays = [f"%s::{model._meta.pk.rel_db_type(connection)}[]", f"%s::{model._meta.get_field(field).db_type(connection)}[]"]
        names, array_params = ["id", "old"], [ids, [current for _, current in rows]]
        if values:
            arrays.append("%s::boolean[]")
            names.append("given")
            first = next(iter(values.values()))
            array_params.append([pk_value in first for pk_value in ids])
            for i, (name, by_pk) in enumerate(values.items()):
                db_field = model._meta.get_field(name)
                sets.append(f"{quote(db_field.column)} = CASE WHEN v.given THEN v.c{i} ELSE t.{quote(db_field.column)} END")
                arrays.append(f"%s::{db_field.db_type(connection)}[]")
                names.append(f"c{i}")
                array_params.append([by_pk.get(pk_value) for pk_value in ids])
        # The ids as one literal array (the planner knows how many: the rows by primary key, never a
        # scan of the whole table nor a loop over the ids per row), the old values beside them.
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH moved AS (UPDATE {table} AS t SET {', '.join(sets)} "  # nosec B608 - identifiers from the model's meta, quoted; values are parameters
                f"FROM unnest({', '.join(arrays)}) AS v({', '.join(names)}) "
                f"WHERE t.{pk} = ANY(%s) AND t.{pk} = v.id RETURNING t.{pk} AS id, v.old), "
                f"audit AS ({audit_into}SELECT %s, CAST(id AS TEXT), %s, old, %s, %s, %s, '{{}}', %s FROM moved) "
                "SELECT count(*) FROM moved",
                [*set_params, *array_params, ids, *audit_params],
            )
            return cursor.fetchone()[0]
