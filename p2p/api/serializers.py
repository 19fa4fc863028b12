"""Shapes of the P2P API. Input serializers only parse; services decide."""

from rest_framework import serializers

from p2p.models import Installment, Loan, Note, Repayment, days_past_due_of
from platform_core.api.fields import AmountField


class LoanSerializer(serializers.ModelSerializer):
    borrower = serializers.CharField(source="borrower.legal_name", read_only=True)
    annual_rate_percent = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField(read_only=True)
    days_past_due = serializers.IntegerField(read_only=True)
    delinquency_bucket = serializers.CharField(read_only=True)

    class Meta:
        model = Loan
        fields = [
            "id",
            "borrower",
            "amount",
            "currency",
            "term_months",
            "annual_rate_percent",
            "method",
            "purpose",
            "grade",
            "status",
            "rejection_reason",
            "listed_at",
            "funding_deadline",
            "funded_amount",
            "investor_count",
            "progress_percent",
            "disbursed_at",
            "origination_fee",
            "principal_outstanding",
            "days_past_due",
            "delinquency_bucket",
            "created_at",
        ]

    def get_annual_rate_percent(self, loan) -> str:
        return f"{loan.annual_rate * 100:.4f}"


class LoanWriteSerializer(serializers.Serializer):
    amount = AmountField(required=False)
    term_months = serializers.CharField(max_length=10, required=False)
    annual_rate_percent = serializers.CharField(max_length=20, required=False)
    method = serializers.CharField(max_length=32, required=False)
    purpose = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ApproveSerializer(serializers.Serializer):
    grade = serializers.CharField(max_length=1)


class LoanReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class InvestmentAmountSerializer(serializers.Serializer):
    amount = AmountField()


class InvestmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    loan = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    status = serializers.CharField()


class RepaymentAmountSerializer(serializers.Serializer):
    amount = AmountField(required=False, allow_null=True, allow_blank=True, default=None)


class InstallmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Installment
        fields = [
            "number",
            "due_date",
            "principal_due",
            "interest_due",
            "fee_due",
            "penalty_due",
            "principal_paid",
            "interest_paid",
            "fee_paid",
            "penalty_paid",
            "status",
            "paid_at",
        ]


class RepaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Repayment
        fields = [
            "id",
            "loan",
            "amount",
            "penalty_part",
            "fee_part",
            "interest_part",
            "principal_part",
            "service_fee",
            "source",
            "is_compensatory",
            "created_at",
        ]


class NoteSerializer(serializers.ModelSerializer):
    """Serialises notes from selectors.note_list (which annotates `loan_arrears_since`)."""

    borrower = serializers.CharField(source="loan.borrower.legal_name", read_only=True)
    loan_status = serializers.CharField(source="loan.status", read_only=True)
    days_past_due = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = [
            "id",
            "loan",
            "borrower",
            "loan_status",
            "days_past_due",
            "principal",
            "principal_outstanding",
            "received_principal",
            "received_interest",
            "fees_paid",
            "created_at",
        ]

    def get_days_past_due(self, note) -> int:
        return days_past_due_of(note.loan_arrears_since)
