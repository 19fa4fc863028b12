"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from platform_core.errors import ApplicationError


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(m) for m in (value if isinstance(value, list) else [value])] for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        return Response(error_body(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()), ["Invalid input."])[0]
        response.data = error_body("invalid", first, fields)
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    detail = getattr(exc, "detail", str(exc))
    code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    if not isinstance(code, str):
        code = getattr(exc, "default_code", "error")
    response.data = error_body(code, str(detail))
    return response


def api_aware_404(request, exception):
    """Django's 404 handler: the API's error shape under /api/, the HTML page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such resource."), status=404)
    return page_not_found(request, exception)


def api_aware_400(request, exception):
    """Django's 400 handler (e.g. too many fields, a body too large, a bad Host): the API's error
    shape under /api/, the HTML page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import bad_request

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return bad_request(request, exception)


def api_aware_403(request, exception):
    from django.http import JsonResponse
    from django.views.defaults import permission_denied

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("permission_denied", "You may not do this."), status=403)
    return permission_denied(request, exception)


def api_aware_500(request):
    from django.http import JsonResponse
    from django.views.defaults import server_error

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Something went wrong on our side. Try again."), status=500)
    return server_error(request)
