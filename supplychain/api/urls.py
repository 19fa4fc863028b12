from django.urls import path

from . import views

urlpatterns = [
    path("invoices/", views.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="api-invoice"),
    path("invoices/<int:pk>/confirm/", views.InvoiceConfirmView.as_view(), name="api-invoice-confirm"),
    path("invoices/<int:pk>/reject/", views.InvoiceRejectView.as_view(), name="api-invoice-reject"),
    path("invoices/<int:pk>/dispute/", views.InvoiceDisputeView.as_view(), name="api-invoice-dispute"),
    path("invoices/<int:pk>/dilutions/", views.InvoiceDilutionView.as_view(), name="api-invoice-dilutions"),
    path("certificates/", views.CertificateListView.as_view(), name="api-certificates"),
    path("certificates/<int:pk>/", views.CertificateDetailView.as_view(), name="api-certificate"),
    path("certificates/<int:pk>/split/", views.CertificateSplitView.as_view(), name="api-certificate-split"),
    path("financings/", views.FinancingListView.as_view(), name="api-financings"),
    path("financings/quote/", views.FinancingQuoteView.as_view(), name="api-financing-quote"),
    path("financings/<int:pk>/", views.FinancingDetailView.as_view(), name="api-financing"),
    path("financings/<int:pk>/approve/", views.FinancingApproveView.as_view(), name="api-financing-approve"),
    path("financings/<int:pk>/reject/", views.FinancingRejectView.as_view(), name="api-financing-reject"),
    path("financings/<int:pk>/fund/", views.FinancingFundView.as_view(), name="api-financing-fund"),
    path("registry/", views.RegistryView.as_view(), name="api-registry"),
    path("programmes/", views.ProgrammeListView.as_view(), name="api-programmes"),
]
