"""Shared pieces of the server-rendered views: one-button service calls and their messages."""

from django.contrib import messages
from django.http import Http404

from platform_core.errors import ApplicationError


def raise_if_not_found(exc: ApplicationError) -> None:
    """A service's not_found stays a 404 page (another user's object is not revealed)."""
    if exc.status == 404:
        raise Http404(exc.message)


def flash_service_call(request, call, success: str) -> bool:
    """Run a one-button action: a message either way; a not-found stays a 404."""
    try:
        call()
    except ApplicationError as exc:
        raise_if_not_found(exc)
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True
