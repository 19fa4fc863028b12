"""P2P lending pages, mounted at /loans/ by platform_core/urls.py."""

from django.urls import path

from . import views

app_name = "p2p"

urlpatterns = [
    path("", views.loan_list, name="loan-list"),
    path("new/", views.loan_create, name="loan-create"),
    path("mine/", views.loan_mine, name="loan-mine"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("<int:loan_id>/", views.loan_detail, name="loan-detail"),
    path("<int:loan_id>/edit/", views.loan_edit, name="loan-edit"),
    path("<int:loan_id>/submit/", views.loan_submit, name="loan-submit"),
    path("<int:loan_id>/redraft/", views.loan_redraft, name="loan-redraft"),
    path("<int:loan_id>/withdraw/", views.loan_withdraw, name="loan-withdraw"),
    path("<int:loan_id>/invest/", views.investment_create, name="investment-create"),
    path("<int:loan_id>/repay/", views.repayment_make, name="repayment-make"),
    path("<int:loan_id>/repay-in-full/", views.loan_repay_in_full, name="loan-repay-in-full"),
]
