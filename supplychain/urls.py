"""Supply-chain finance pages, mounted at /scf/ by platform_core/urls.py."""

from django.urls import path

from . import views

app_name = "supplychain"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("programmes/new/", views.programme_create, name="programme-create"),
    path("invoices/new/", views.invoice_create, name="invoice-create"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<int:invoice_id>/dilution/", views.invoice_dilution, name="invoice-dilution"),
    path("invoices/<int:invoice_id>/documents/", views.invoice_document, name="invoice-document"),
    path("invoices/<int:invoice_id>/finance/", views.invoice_finance, name="invoice-finance"),
    path("invoices/<int:invoice_id>/<str:answer>/", views.invoice_answer, name="invoice-answer"),
    path("certificates/new/", views.certificate_issue, name="certificate-issue"),
    path("certificates/<int:certificate_id>/", views.certificate_detail, name="certificate-detail"),
    path("certificates/<int:certificate_id>/split/", views.certificate_split, name="certificate-split"),
    path("certificates/<int:certificate_id>/finance/", views.certificate_finance, name="certificate-finance"),
    path("financings/<int:financing_id>/", views.financing_detail, name="financing-detail"),
    path("financings/<int:financing_id>/fund/", views.financing_fund, name="financing-fund"),
    path("financings/<int:financing_id>/<str:answer>/", views.financing_answer, name="financing-answer"),
]
