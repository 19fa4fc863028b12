from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from platform_core.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("signup/investor/", web_views.signup, {"kind": "investor"}, name="signup-investor"),
    path("signup/sme/", web_views.signup, {"kind": "sme"}, name="signup-sme"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("wallet/", web_views.wallet, name="wallet"),
    path("wallet/deposit/", web_views.wallet_payment, {"direction": "deposit"}, name="wallet-deposit"),
    path("wallet/withdraw/", web_views.wallet_payment, {"direction": "withdraw"}, name="wallet-withdraw"),
    path("campaigns/", include("crowdfunding.urls")),
    path("loans/", include("p2p.urls")),
    path("disclosures/", include("platform_core.disclosures.urls")),
    path("scf/", include("supplychain.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("platform_core.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

if settings.DEBUG:  # uploaded cover images in the demo; production serves MEDIA_ROOT from the proxy
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "platform_core.api.errors.api_aware_400"
handler403 = "platform_core.api.errors.api_aware_403"
handler404 = "platform_core.api.errors.api_aware_404"
handler500 = "platform_core.api.errors.api_aware_500"
