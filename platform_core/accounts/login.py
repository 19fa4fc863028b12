"""Log-in that cannot be guessed: who the client is, and what a locked-out client is told.

- The client's address comes from `REMOTE_ADDR`, or, behind `NUM_PROXIES` trusted proxies, from
  the entry of `X-Forwarded-For` that the outermost trusted proxy appended (the same rule as DRF's
  throttles, which read the same setting). With no proxy configured (the default) the header is
  ignored: a client cannot make itself a new address by sending one.
- Failed log-ins (web page, API token endpoint, admin) are counted by django-axes in the database
  (so the count holds on the SQLite demo and while Redis is away); after `AXES_FAILURE_LIMIT`
  failures from one address, or for one user name, further attempts are refused for
  `AXES_COOLOFF_TIME`, even with the right password. The refusal is a 429: JSON in the API's
  error shape under /api/, a page elsewhere.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

LOCKED_OUT_CODE = "too_many_failed_logins"


def client_ip(request) -> str:
    """The address of the client as the trusted proxies saw it (DRF's `get_ident` rule)."""
    request = getattr(request, "_request", request)  # a DRF Request wraps the HttpRequest
    remote_addr = request.META.get("REMOTE_ADDR", "")
    num_proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not num_proxies or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(num_proxies, len(addresses))]


def locked_out_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _("Too many failed log-ins. Try again in %(minutes)d minutes.") % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """What django-axes answers to a locked-out client (AXES_LOCKOUT_CALLABLE)."""
    message = locked_out_message()
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": LOCKED_OUT_CODE, "message": message, "fields": {}}}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = retry_after
    return response
