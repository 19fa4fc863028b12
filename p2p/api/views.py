"""P2P API: thin views over p2p.services and p2p.selectors."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from p2p import selectors, services
from platform_core.api.filters import filters_check
from platform_core.api.idempotent import idempotent_response
from platform_core.api.pagination import Pagination
from platform_core.api.views import IDEMPOTENCY_HEADER
from platform_core.errors import ApplicationError

from .serializers import (
    ApproveSerializer,
    InstallmentSerializer,
    InvestmentAmountSerializer,
    InvestmentSerializer,
    LoanReasonSerializer,
    LoanSerializer,
    LoanWriteSerializer,
    NoteSerializer,
    RepaymentAmountSerializer,
    RepaymentSerializer,
)

LIST_FILTERS = [
    OpenApiParameter("status", str),
    OpenApiParameter("grade", str),
    OpenApiParameter("mine", bool, description="Only the caller's organisation's loans"),
]


def _visible(request, loan_id):
    loan = selectors.loan_get(user=request.user, loan_id=loan_id)
    if loan is None:
        raise ApplicationError("not_found", "No such loan.", status=404)
    return loan


def _parsed(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class LoanListView(APIView):
    pagination_class = Pagination  # the schema documents the paginated envelope

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(parameters=LIST_FILTERS, responses=LoanSerializer(many=True))
    def get(self, request):
        filters_check(request, LIST_FILTERS)
        p = request.query_params
        qs = selectors.loan_list(
            user=request.user, status=p.get("status", ""), grade=p.get("grade", ""), mine=p.get("mine") == "true"
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(LoanSerializer(page, many=True).data)

    @extend_schema(request=LoanWriteSerializer, responses={201: LoanSerializer})
    def post(self, request):
        loan = services.loan_create(user=request.user, **_parsed(LoanWriteSerializer, request))
        return Response(LoanSerializer(_visible(request, loan.pk)).data, status=status.HTTP_201_CREATED)


class LoanDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=LoanSerializer)
    def get(self, request, pk):
        return Response(LoanSerializer(_visible(request, pk)).data)

    @extend_schema(request=LoanWriteSerializer, responses=LoanSerializer)
    def patch(self, request, pk):
        serializer = LoanWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.loan_update(user=request.user, loan_id=pk, **serializer.validated_data)
        return Response(LoanSerializer(_visible(request, pk)).data)


def _action(call, request_serializer=None, doc=""):
    class LoanActionView(APIView):
        @extend_schema(request=request_serializer, responses=LoanSerializer, description=doc)
        def post(self, request, pk):
            data = _parsed(request_serializer, request) if request_serializer else {}
            call(request.user, pk, **data)
            return Response(LoanSerializer(_visible(request, pk)).data)

    return LoanActionView


LoanSubmitView = _action(
    lambda user, pk: services.loan_submit(user=user, loan_id=pk), doc="Draft -> in review (checks the borrowing cap)."
)
LoanApproveView = _action(
    lambda user, pk, grade: services.loan_approve(actor=user, loan_id=pk, grade=grade),
    ApproveSerializer,
    "Operators: grade the loan and list it.",
)
LoanRejectView = _action(
    lambda user, pk, reason: services.loan_reject(actor=user, loan_id=pk, reason=reason),
    LoanReasonSerializer,
    "Operators: reject with a reason.",
)
LoanWithdrawView = _action(
    lambda user, pk: services.loan_withdraw(user=user, loan_id=pk),
    doc="The borrower withdraws its listing; investments are refunded.",
)


class LoanInvestView(APIView):
    @extend_schema(request=InvestmentAmountSerializer, responses={201: InvestmentSerializer}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        def run():
            investment = services.investment_create(user=request.user, loan_id=pk, **_parsed(InvestmentAmountSerializer, request))
            return Response(
                {"id": investment.pk, "loan": pk, "amount": str(investment.amount), "status": investment.status},
                status=status.HTTP_201_CREATED,
            )

        return idempotent_response(request, run)


class LoanScheduleView(APIView):
    @extend_schema(responses=InstallmentSerializer(many=True))
    def get(self, request, pk):
        loan = _visible(request, pk)
        schedule = selectors.loan_schedule(user=request.user, loan=loan)
        if schedule is None:
            raise ApplicationError("not_found", "No such schedule.", status=404)
        return Response(InstallmentSerializer(schedule, many=True).data)


class LoanRepayView(APIView):
    @extend_schema(
        request=RepaymentAmountSerializer,
        responses={201: RepaymentSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="Repay from the borrower's wallet; without an amount, what is due now.",
    )
    def post(self, request, pk):
        def run():
            repayment = services.repayment_make(
                user=request.user, loan_id=pk, amount=_parsed(RepaymentAmountSerializer, request)["amount"]
            )
            return Response(RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)

        return idempotent_response(request, run)


class LoanPayoffView(APIView):
    @extend_schema(
        request=None,
        responses={201: RepaymentSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="Full early repayment with interest to date.",
    )
    def post(self, request, pk):
        return idempotent_response(
            request,
            lambda: Response(RepaymentSerializer(services.loan_repay_in_full(user=request.user, loan_id=pk)).data, status=201),
        )


class LoanGuarantorPaymentView(APIView):
    @extend_schema(
        request=RepaymentAmountSerializer,
        responses={201: RepaymentSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        description="A third party pays for the borrower (a compensatory payment).",
    )
    def post(self, request, pk):
        def run():
            repayment = services.guarantor_pay(
                user=request.user, loan_id=pk, amount=_parsed(RepaymentAmountSerializer, request)["amount"]
            )
            return Response(RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)

        return idempotent_response(request, run)


class NoteListView(APIView):
    pagination_class = Pagination  # the schema documents the paginated envelope

    @extend_schema(responses=NoteSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.note_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(NoteSerializer(page, many=True).data)
