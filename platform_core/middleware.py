"""Request guards that hold for every view: API, pages and admin alike."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

from platform_core.inputs import query_text_refusal


class QueryTextMiddleware:
    """The one place where text filter and search input (the query string) is checked before any
    view reads it: a NUL byte (which PostgreSQL refuses in any text parameter, so every filter, search
    and admin list filter answered 500) or another control character is answered 400 with code
    `invalid_query` and nothing runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            refusal = query_text_refusal(name) or next(filter(None, map(query_text_refusal, values)), None)
            if refusal:
                return self._refuse(request, refusal)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, message: str):
        if request.path.startswith("/api/"):
            from platform_core.api.errors import error_body

            return JsonResponse(error_body("invalid_query", message), status=400)
        title = _("Bad request")
        return HttpResponseBadRequest(f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{escape(message)}</p>")
