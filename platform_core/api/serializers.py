"""Input parsing and output shapes for the platform API. Business rules live in services."""

from rest_framework import serializers

from platform_core.accounts.models import InvestorProfile, Organisation, OrganisationKind, User
from platform_core.api.fields import AmountField
from platform_core.ledger.models import Payment


class SignupSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["investor", OrganisationKind.SME])
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(write_only=True, max_length=128)
    # individual investors
    id_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    annual_income = AmountField(required=False, default="0")
    net_worth = AmountField(required=False, default="0")
    accredited = serializers.BooleanField(required=False, default=False)
    # organisations
    legal_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    credit_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown only once.")
    expiry = serializers.DateTimeField(help_text="The token is refused after this instant.")


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "legal_name", "credit_code", "kind", "kyc_status"]


class InvestorProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvestorProfile
        fields = ["annual_income", "net_worth", "accredited"]


class MeSerializer(serializers.ModelSerializer):
    # empty for accounts made without one (staff, some sign-ups): not always an e-mail address
    email = serializers.CharField(read_only=True, help_text="E-mail address, or empty.")
    organisation = OrganisationSerializer(read_only=True, allow_null=True)  # individuals have none
    investor_profile = InvestorProfileSerializer(read_only=True, allow_null=True)  # organisations have none

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "kyc_status", "member_role", "organisation", "investor_profile"]


class AmountSerializer(serializers.Serializer):
    # Kept as a string: platform_core.money.parse_amount gives the stable error codes.
    amount = AmountField()
    currency = serializers.CharField(max_length=3, required=False)


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "direction", "amount", "currency", "status", "gateway_reference", "failure_reason", "created_at"]


class EntrySerializer(serializers.Serializer):
    """One leg of the wallet, in the wallet holder's terms (+ money in, - money out)."""

    id = serializers.IntegerField()
    transaction = serializers.IntegerField(source="transaction_id")
    kind = serializers.CharField(source="transaction.kind")
    memo = serializers.CharField(source="transaction.memo")
    amount = serializers.DecimalField(source="change", max_digits=20, decimal_places=2)
    created_at = serializers.DateTimeField(source="transaction.created_at")


class WalletSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=20, decimal_places=2)
    entries = EntrySerializer(many=True)
