"""The API side of idempotency keys: wraps a money-moving POST handler."""

from rest_framework.response import Response

from platform_core.ledger.idempotency import idempotent_run, request_fingerprint


def idempotent_response(request, run) -> Response:
    """`run()` returns a DRF Response; its status and data are stored under the request's key."""

    def run_plain():
        response = run()
        return response.status_code, response.data

    status, body, replayed = idempotent_run(
        user=request.user,
        key=request.headers.get("Idempotency-Key"),
        fingerprint=request_fingerprint(request.method, request.path, request.data),
        run=run_plain,
    )
    response = Response(body, status=status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
