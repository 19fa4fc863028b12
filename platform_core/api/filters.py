"""Query filters are read as their schema declares them: a filter given twice, a choice outside its
enum, or a boolean other than `true`/`false` is refused with 400 `invalid_filter` instead of being
silently ignored (a client that misspells `sort=newest` should learn it, not get another order).

The declarations are the views' own `OpenApiParameter`s, so the schema and the check cannot drift.
"""

from django.utils.translation import gettext as _

from platform_core.errors import ApplicationError

BOOLEAN_VALUES = ("true", "false")


def filters_check(request, parameters) -> None:
    for parameter in parameters:
        values = request.query_params.getlist(parameter.name)
        if not values:
            continue
        if len(values) > 1:
            raise ApplicationError("invalid_filter", _("Give %(name)s once.") % {"name": parameter.name}, field=parameter.name)
        value = values[0]
        if parameter.type is bool and value not in BOOLEAN_VALUES:
            raise ApplicationError(
                "invalid_filter", _("%(name)s is true or false.") % {"name": parameter.name}, field=parameter.name
            )
        if parameter.enum and value not in parameter.enum:
            raise ApplicationError(
                "invalid_filter",
                _("%(name)s is one of: %(choices)s.") % {"name": parameter.name, "choices": ", ".join(map(str, parameter.enum))},
                field=parameter.name,
            )
