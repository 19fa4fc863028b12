"""Server-rendered pages of the platform core: home, sign-up, wallet."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from platform_core.accounts import services as account_services
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger_services
from platform_core.ledger.selectors import payment_list, wallet_entries

from .actions import money_form_done, money_form_run
from .forms import AmountForm, InvestorSignupForm, OrganisationSignupForm, form_add_application_error


def home(request):
    return render(request, "platform_core/home.html")


@require_http_methods(["GET", "POST"])
def signup(request, kind: str):
    form_class = InvestorSignupForm if kind == "investor" else OrganisationSignupForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if kind == "investor":
                user = account_services.investor_signup(**form.cleaned_data)
            else:
                user = account_services.organisation_signup(**form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome, {user.username}. Your KYC status: {user.organisation.kyc_status if user.organisation_id else user.kyc_status}.",
            )
            return redirect("wallet")
    return render(request, "platform_core/signup.html", {"form": form, "kind": kind})


def _wallet_context(request, **forms):
    wallet = ledger_services.wallet_of_user(request.user)
    return {
        "wallet": wallet,
        "entries": wallet_entries(wallet=wallet, limit=20),
        "payments": payment_list(wallet=wallet)[:10],
        "deposit_form": forms.get("deposit_form") or AmountForm(prefix="deposit"),
        "withdraw_form": forms.get("withdraw_form") or AmountForm(prefix="withdraw"),
    }


@login_required
def wallet(request):
    try:
        context = _wallet_context(request)
    except ApplicationError as exc:
        messages.info(request, exc.message)
        return redirect("home")
    return render(request, "platform_core/wallet.html", context)


@login_required
@require_POST
def wallet_payment(request, direction: str):
    prefix = "deposit" if direction == "deposit" else "withdraw"
    if request.user.is_operator or request.user.is_regulator:
        messages.info(request, "Regulators and operators hold no wallet.")
        return redirect("home")
    form = AmountForm(request.POST, prefix=prefix)
    if form.is_valid():
        amount = form.cleaned_data["amount"]

        def run():
            payment = ledger_services.payment_open(
                user=request.user, amount=amount, direction="deposit" if direction == "deposit" else "withdrawal"
            )
            return 201, {"id": payment.pk, "status": payment.status, "amount": str(payment.amount)}

        done = money_form_run(request, form, payload={"amount": amount}, run=run)
        if done is not None:
            body, replayed = done
            # the gateway is called only now that the payment (and the key) are committed
            payment = ledger_services.payment_process(payment_id=body["id"])
            verb = "Deposit" if direction == "deposit" else "Withdrawal"
            note = " (this form was already submitted; nothing was moved twice)" if replayed else ""
            messages.success(request, f"{verb} of {payment.amount}: {payment.status}{note}.")
            return money_form_done(reverse("wallet"), form)
    return render(request, "platform_core/wallet.html", _wallet_context(request, **{f"{prefix}_form": form}), status=400)
