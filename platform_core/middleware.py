"""Request guards that hold for every view: API, pages and admin alike."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
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


class UploadSizeMiddleware:
    """A multipart request (a file upload) larger than `PLATFORM["UPLOAD_MAX_BYTES"]` is answered
    413 `request_too_large` from its Content-Length, before Django reads the body and writes its
    files to disk. The picture check (platform_core.uploads) then judges what does arrive."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.PLATFORM["UPLOAD_MAX_BYTES"]
            if length > limit:
                message = _("The upload may be at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)}
                if request.path.startswith("/api/"):
                    from platform_core.api.errors import error_body

                    return JsonResponse(error_body("request_too_large", message), status=413)
                return HttpResponse(escape(message), status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
