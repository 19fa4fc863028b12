from django.urls import include, path

from . import views

urlpatterns = [
    path("auth/signup/", views.SignupView.as_view(), name="api-signup"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("wallet/", views.WalletView.as_view(), name="api-wallet"),
    path("wallet/deposits/", views.DepositView.as_view(), name="api-deposits"),
    path("wallet/withdrawals/", views.WithdrawalView.as_view(), name="api-withdrawals"),
    path("", include("crowdfunding.api.urls")),
    path("", include("p2p.api.urls")),
    path("", include("platform_core.disclosures.api.urls")),
    path("", include("supplychain.api.urls")),
]
