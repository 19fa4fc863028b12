"""One pagination for every list: `?page=N&page_size=M`, answered as
`{"count", "next", "previous", "results"}`.

Strict, as the schema documents it: a `page_size` that is not a whole number from 1 to
`max_page_size` is refused with 400 `invalid_page_size` (DRF would silently fall back to the
default); a `page` that does not exist is a 404 `not_found`, as in DRF.
"""

from rest_framework.pagination import PageNumberPagination

from platform_core.errors import ApplicationError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        for name in (self.page_query_param, self.page_size_query_param):
            if len(request.query_params.getlist(name)) > 1:
                raise ApplicationError("invalid_page", f"Give {name} once.", field=name)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ApplicationError(
                "invalid_page_size",
                f"page_size is a whole number from 1 to {self.max_page_size}.",
                field=self.page_size_query_param,
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
