"""Supply-chain API: thin views over supplychain.services and supplychain.selectors. Every POST that
changes state or moves money takes an Idempotency-Key."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from platform_core.api.filters import filters_check
from platform_core.api.idempotent import idempotent_response
from platform_core.api.pagination import Pagination
from platform_core.api.views import IDEMPOTENCY_HEADER
from platform_core.errors import ApplicationError
from supplychain import selectors, services
from supplychain.models import CertificateStatus, FinancingStatus, InvoiceStatus

from . import serializers as s


def _parsed(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _page(request, view, queryset, out):
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response([out(row) for row in page])


def _found(row, message: str):
    if row is None:
        raise ApplicationError("not_found", message, status=404)
    return row


def _invoice(request, pk):
    return _found(selectors.invoice_get(user=request.user, invoice_id=pk), _("No such invoice."))


def _certificate(request, pk):
    return _found(selectors.certificate_get(user=request.user, certificate_id=pk), _("No such certificate."))


def _financing(request, pk):
    return _found(selectors.financing_get(user=request.user, financing_id=pk), _("No such financing."))


def _status(choices) -> list[OpenApiParameter]:
    return [OpenApiParameter("status", str, enum=list(choices.values))]


def _status_filter(request, parameters) -> str:
    filters_check(request, parameters)
    return request.query_params.get("status", "")


INVOICE_FILTERS = _status(InvoiceStatus)
CERTIFICATE_FILTERS = _status(CertificateStatus)
FINANCING_FILTERS = _status(FinancingStatus)


class InvoiceListView(APIView):
    pagination_class = Pagination  # the schema documents the paginated envelope

    @extend_schema(parameters=INVOICE_FILTERS, responses=s.Invoice(many=True), operation_id="v1_invoices_list")
    def get(self, request):
        status = _status_filter(request, INVOICE_FILTERS)
        return _page(request, self, selectors.invoice_list(user=request.user, status=status), s.invoice_out)

    @extend_schema(request=s.InvoiceIn, responses={201: s.Invoice}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        def run():
            data = _parsed(s.InvoiceIn, request)
            data["anchor_id"] = data.pop("anchor")
            invoice = services.invoice_create(user=request.user, **data)
            return Response(s.invoice_out(_invoice(request, invoice.pk)), status=201)

        return idempotent_response(request, run)


class InvoiceDetailView(APIView):
    @extend_schema(responses=s.Invoice)
    def get(self, request, pk):
        return Response(s.invoice_out(_invoice(request, pk)))


def _invoice_action(call, serializer=None, doc=""):
    class InvoiceActionView(APIView):
        @extend_schema(request=serializer, responses=s.Invoice, parameters=[IDEMPOTENCY_HEADER], description=doc)
        def post(self, request, pk):
            def run():
                data = _parsed(serializer, request) if serializer else {}
                call(request.user, pk, **data)
                return Response(s.invoice_out(_invoice(request, pk)))

            return idempotent_response(request, run)

    return InvoiceActionView


InvoiceConfirmView = _invoice_action(
    lambda user, pk: services.invoice_confirm(user=user, invoice_id=pk), doc="The anchor confirms: an irrevocable undertaking."
)
InvoiceRejectView = _invoice_action(
    lambda user, pk, reason: services.invoice_reject(user=user, invoice_id=pk, reason=reason), s.ReasonIn, "The anchor rejects."
)
InvoiceDisputeView = _invoice_action(
    lambda user, pk, reason: services.invoice_dispute(user=user, invoice_id=pk, reason=reason), s.ReasonIn, "The anchor disputes."
)


class InvoiceDilutionView(APIView):
    @extend_schema(request=s.DilutionIn, responses={201: s.Invoice}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        def run():
            services.dilution_add(user=request.user, invoice_id=pk, **_parsed(s.DilutionIn, request))
            return Response(s.invoice_out(_invoice(request, pk)), status=201)

        return idempotent_response(request, run)


class CertificateListView(APIView):
    pagination_class = Pagination

    @extend_schema(parameters=CERTIFICATE_FILTERS, responses=s.Certificate(many=True), operation_id="v1_certificates_list")
    def get(self, request):
        qs = selectors.certificate_list(user=request.user, status=_status_filter(request, CERTIFICATE_FILTERS))
        return _page(request, self, qs, s.certificate_out)

    @extend_schema(request=s.CertificateIn, responses={201: s.Certificate}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        def run():
            data = _parsed(s.CertificateIn, request)
            certificate = services.certificate_issue(user=request.user, invoice_ids=data["invoices"], amount=data.get("amount"))
            return Response(s.certificate_out(_certificate(request, certificate.pk)), status=201)

        return idempotent_response(request, run)


class CertificateDetailView(APIView):
    @extend_schema(responses=s.CertificateDetail, description="The certificate with its chain back to the anchor's first holder.")
    def get(self, request, pk):
        certificate = _certificate(request, pk)
        return Response(s.certificate_out(certificate, chain=selectors.certificate_chain(certificate)))


class CertificateSplitView(APIView):
    @extend_schema(request=s.SplitIn, responses={201: s.SplitResult}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        def run():
            child = services.certificate_split(user=request.user, certificate_id=pk, **_parsed(s.SplitIn, request))
            return Response({"parent": s.certificate_out(_certificate(request, pk)), "child": child.pk}, status=201)

        return idempotent_response(request, run)


def _financing_args(request) -> dict:
    data = _parsed(s.FinancingIn, request)
    return {
        "programme_id": data["programme"],
        "invoice_id": data.get("invoice"),
        "certificate_id": data.get("certificate"),
        "amount": data.get("amount"),
    }


class FinancingListView(APIView):
    pagination_class = Pagination

    @extend_schema(parameters=FINANCING_FILTERS, responses=s.Financing(many=True), operation_id="v1_financings_list")
    def get(self, request):
        qs = selectors.financing_list(user=request.user, status=_status_filter(request, FINANCING_FILTERS))
        return _page(request, self, qs, s.financing_out)

    @extend_schema(
        request=s.FinancingIn,
        responses={201: s.Financing, 200: s.FinancingQuote},
        parameters=[IDEMPOTENCY_HEADER, OpenApiParameter("quote", bool, description="1: only the price, nothing written")],
    )
    def post(self, request):
        if request.query_params.get("quote") in ("1", "true"):
            return FinancingQuoteView().post(request)

        def run():
            financing = services.financing_request(user=request.user, **_financing_args(request))
            return Response(s.financing_out(_financing(request, financing.pk)), status=201)

        return idempotent_response(request, run)


class FinancingQuoteView(APIView):
    @extend_schema(request=s.FinancingIn, responses=s.FinancingQuote, description="What financing the asset today would pay.")
    def post(self, request):
        return Response(s.quote_out(services.financing_quote(user=request.user, **_financing_args(request))))


class FinancingDetailView(APIView):
    @extend_schema(responses=s.Financing)
    def get(self, request, pk):
        return Response(s.financing_out(_financing(request, pk)))


def _financing_action(call, serializer=None, doc=""):
    class FinancingActionView(APIView):
        @extend_schema(request=serializer, responses=s.Financing, parameters=[IDEMPOTENCY_HEADER], description=doc)
        def post(self, request, pk):
            def run():
                data = _parsed(serializer, request) if serializer else {}
                call(request.user, pk, **data)
                return Response(s.financing_out(_financing(request, pk)))

            return idempotent_response(request, run)

    return FinancingActionView


FinancingApproveView = _financing_action(
    lambda user, pk: services.financing_approve(user=user, financing_id=pk), doc="The funder approves."
)
FinancingRejectView = _financing_action(
    lambda user, pk, reason: services.financing_reject(user=user, financing_id=pk, reason=reason),
    s.ReasonIn,
    "The funder rejects with a reason.",
)
FinancingFundView = _financing_action(
    lambda user, pk: services.financing_fund(user=user, financing_id=pk),
    doc="The funder pays: one ledger transaction, the encumbrance registered.",
)


class RegistryView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("asset", str, required=True, description="invoice:<id> or certificate:<id>")],
        responses={
            200: s.RegistryAnswer,
            404: OpenApiResponse(description=_("No such asset, or not one the caller may ask the registry about.")),
        },
    )
    def get(self, request):
        asset = request.query_params.get("asset", "")
        entries = selectors.registry_lookup(user=request.user, asset=asset)
        if entries is None:
            raise ApplicationError("not_found", _("No such asset."), status=404)
        return Response(
            {
                "asset": asset,
                "encumbered": any(e.released_at is None for e in entries),
                "entries": [s.encumbrance_out(e) for e in entries],
            }
        )


class ProgrammeListView(APIView):
    pagination_class = Pagination

    @extend_schema(responses=s.Programme(many=True))
    def get(self, request):
        return _page(request, self, selectors.programme_list(user=request.user), s.programme_out)
