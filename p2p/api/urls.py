from django.urls import path

from . import views

urlpatterns = [
    path("loans/", views.LoanListView.as_view(), name="api-loans"),
    path("loans/<int:pk>/", views.LoanDetailView.as_view(), name="api-loan"),
    path("loans/<int:pk>/submit/", views.LoanSubmitView.as_view(), name="api-loan-submit"),
    path("loans/<int:pk>/approve/", views.LoanApproveView.as_view(), name="api-loan-approve"),
    path("loans/<int:pk>/reject/", views.LoanRejectView.as_view(), name="api-loan-reject"),
    path("loans/<int:pk>/withdraw/", views.LoanWithdrawView.as_view(), name="api-loan-withdraw"),
    path("loans/<int:pk>/investments/", views.LoanInvestView.as_view(), name="api-loan-invest"),
    path("loans/<int:pk>/schedule/", views.LoanScheduleView.as_view(), name="api-loan-schedule"),
    path("loans/<int:pk>/repayments/", views.LoanRepayView.as_view(), name="api-loan-repay"),
    path("loans/<int:pk>/payoff/", views.LoanPayoffView.as_view(), name="api-loan-payoff"),
    path("loans/<int:pk>/guarantor-payments/", views.LoanGuarantorPaymentView.as_view(), name="api-loan-guarantor"),
    path("notes/", views.NoteListView.as_view(), name="api-notes"),
]
