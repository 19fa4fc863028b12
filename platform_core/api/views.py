"""Platform endpoints: sign-up, token, me, wallet, deposits and withdrawals. Thin: parse, call one
service, render."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from platform_core.accounts import services as account_services
from platform_core.accounts.login import LOCKED_OUT_CODE, locked_out_message
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger_services
from platform_core.ledger.selectors import wallet_entries

from .auth import token_issue
from .idempotent import idempotent_response
from .serializers import (
    AmountSerializer,
    MeSerializer,
    PaymentSerializer,
    SignupSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    WalletSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A unique value per operation; a retry with the same key returns the first response.",
)


class SignupView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=SignupSerializer, responses={201: MeSerializer})
    def post(self, request):
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["kind"] == "investor":
            user = account_services.investor_signup(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                id_number=data["id_number"],
                annual_income=data["annual_income"],
                net_worth=data["net_worth"],
                accredited=data["accredited"],
            )
        else:
            user = account_services.organisation_signup(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                legal_name=data["legal_name"],
                credit_code=data["credit_code"],
                kind=data["kind"],
            )
        token, _ = token_issue(user=user)
        body = MeSerializer(user).data
        body["token"] = token
        return Response(body, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer})
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # the HttpRequest, so that django-axes counts the failure and marks a lockout on it
        user = authenticate(request._request, **serializer.validated_data)
        if getattr(request._request, "axes_locked_out", False):
            raise ApplicationError(LOCKED_OUT_CODE, locked_out_message(), status=429)
        if user is None:
            raise ApplicationError("invalid_credentials", "Wrong user name or password.", status=400)
        token, instance = token_issue(user=user)
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class WalletView(APIView):
    @extend_schema(responses=WalletSerializer)
    def get(self, request):
        wallet = ledger_services.wallet_of_user(request.user, request.query_params.get("currency"))
        entries = wallet_entries(wallet=wallet, limit=20)
        return Response(WalletSerializer({"currency": wallet.currency, "balance": wallet.balance, "entries": entries}).data)


class _PaymentCreateView(APIView):
    direction = None

    @extend_schema(request=AmountSerializer, responses={201: PaymentSerializer}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        def run():
            serializer = AmountSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            payment = ledger_services.payment_open(user=request.user, direction=self.direction, **serializer.validated_data)
            return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

        # the payment is recorded (with the key) first; the gateway is called only after that commit
        response = idempotent_response(request, run)
        if response.status_code == status.HTTP_201_CREATED:
            response.data = PaymentSerializer(ledger_services.payment_process(payment_id=response.data["id"])).data
        return response


class DepositView(_PaymentCreateView):
    direction = "deposit"


class WithdrawalView(_PaymentCreateView):
    direction = "withdrawal"
