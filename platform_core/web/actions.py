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


def money_form_run(request, form, *, payload: dict, run):
    """Run a money-moving service once per form key (platform_core.ledger.idempotency).

    Returns (body, replayed) when it succeeded (now, or the first time this form was sent);
    otherwise puts the refusal beside its field, renews the form's key (the refusal is stored under
    the old one and nothing moved: the corrected form is a new request) and returns None. A
    not-found is a 404 page."""
    from platform_core.ledger.idempotency import idempotent_run, request_fingerprint
    from platform_core.web.forms import form_add_application_error

    try:
        status, body, replayed = idempotent_run(
            user=request.user,
            key=form.cleaned_data["idempotency_key"],
            fingerprint=request_fingerprint("POST", request.path, payload),
            run=run,
        )
    except ApplicationError as exc:  # the key itself: in use by a request still running, or reused
        form_add_application_error(form, exc)
        if exc.code == "idempotency_key_reused":
            form.renew_key()
        return None
    if status < 400:
        return body, replayed
    if status == 404:
        raise Http404(body["error"]["message"])
    error = body["error"]
    form_add_application_error(form, ApplicationError(error["code"], error["message"], field=next(iter(error["fields"]), None)))
    form.renew_key()
    return None


#: The query parameter of a money form's receipt address (see money_form_done).
RECEIPT_PARAMETER = "receipt"


def money_form_done(url: str, form):
    """Where a money form goes once it succeeded: `url` with the form's key as a receipt marker.

    Never the address of a page that shows a money form without one, so the browser keeps the page
    the form was sent from in its history as it was; Back and the button again send the same key,
    and the money moves once (platform_core.web.forms.IdempotentForm)."""
    from urllib.parse import urlencode

    from django.shortcuts import redirect

    key = form.cleaned_data["idempotency_key"]
    return redirect(f"{url}{'&' if '?' in url else '?'}{urlencode({RECEIPT_PARAMETER: key[:64]})}")
