"""Server-rendered supply-chain pages, mounted at /scf/ by platform_core/urls.py. Each view parses
input, calls one service (or selector) and renders; the rules live in supplychain/services/.

Who sees what follows the selectors: a supplier its own paper, an anchor the paper drawn on it, a
funder the requests made to it, staff everything; anything else is a 404. Forms that move money or
take a limit (financing requests, funding, splits, certificates) run once per hidden key.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from platform_core.accounts.models import OrganisationKind
from platform_core.accounts.services import MANAGER_ROLES
from platform_core.errors import ApplicationError
from platform_core.ledger.idempotency import idempotent_run, request_fingerprint
from platform_core.web.actions import flash_service_call, raise_if_not_found
from platform_core.web.forms import form_add_application_error

from . import selectors, services
from .forms import (
    CertificateIssueForm,
    DilutionForm,
    DocumentForm,
    FinancingRequestForm,
    FundForm,
    InvoiceForm,
    ProgrammeForm,
    ReasonForm,
    SplitForm,
)
from .models import (
    FINANCING_LIVE,
    CertificateStatus,
    Encumbrance,
    FinancingStatus,
    FunderExposure,
    FunderProfile,
    InvoiceStatus,
    Programme,
    SupplierLimit,
    business_date,
)
from .services._common import SUPPLIER_KINDS

LIST_LIMIT = 50


def _run_once(request, form, *, payload: dict, run):
    """Run a service once per form key: the body when it succeeded (now or before); otherwise the
    refusal lands on the form (beside its field), the form gets a fresh key, and None."""
    try:
        status, body, _replayed = idempotent_run(
            user=request.user,
            key=form.cleaned_data["idempotency_key"],
            fingerprint=request_fingerprint("POST", request.path, payload),
            run=run,
        )
    except ApplicationError as exc:
        form_add_application_error(form, exc)
        form.renew_key()
        return None
    if status < 400:
        return body
    if status == 404:
        raise Http404(body["error"]["message"])
    error = body["error"]
    form_add_application_error(form, ApplicationError(error["code"], error["message"], field=next(iter(error["fields"]), None)))
    form.renew_key()
    return None


def _programmes_for(anchor_ids) -> dict[int, list[Programme]]:
    by_anchor: dict[int, list[Programme]] = {}
    for programme in (
        Programme.objects.filter(anchor_id__in=list(anchor_ids), active=True).select_related("funder").order_by("name", "pk")
    ):
        by_anchor.setdefault(programme.anchor_id, []).append(programme)
    return by_anchor


def _best_today(asset, programmes, today) -> dict | None:
    """What the best of these programmes would pay for the asset today (no query)."""
    days = (asset.due_date - today).days
    available = asset.payable_amount if hasattr(asset, "payable_amount") else asset.balance
    best = None
    for p in programmes:
        if days < 1 or days > p.max_tenor_days or available <= 0:
            continue
        quote = services.price(
            amount=available,
            advance_rate=p.advance_rate,
            annual_rate=p.annual_rate,
            day_basis=p.day_basis,
            fee_rate=p.fee_rate,
            days=days,
            currency=asset.currency,
        )
        if best is None or quote["net_amount"] > best["net_amount"]:
            best = {**quote, "programme": p}
    return best


def _encumbered(keys) -> set[str]:
    return set(Encumbrance.objects.filter(asset__in=list(keys), released_at__isnull=True).values_list("asset", flat=True))


# --- dashboards -------------------------------------------------------------------------------


@login_required
def dashboard(request):
    user = request.user
    today = business_date()
    org = user.organisation
    context = {
        "today": today,
        "soon": today + datetime.timedelta(days=30),
        "org": org,
        "staff": user.is_operator or user.is_regulator,
        "can_register": org is not None and org.kind in SUPPLIER_KINDS and user.member_role in MANAGER_ROLES,
    }
    if context["staff"]:
        context["programmes"] = list(Programme.objects.select_related("funder", "anchor").order_by("name")[:LIST_LIMIT])
        context["financings"] = list(selectors.financing_list(user=user)[:LIST_LIMIT])
    elif org is None:
        raise Http404(_("Supply-chain finance is for organisations."))
    elif org.kind == OrganisationKind.CORE_ENTERPRISE:
        context.update(_anchor_board(user, org, today))
    elif org.kind == OrganisationKind.FUNDER:
        context.update(_funder_board(user, org, today))
    if org is not None and org.kind in (OrganisationKind.SME, OrganisationKind.CORE_ENTERPRISE):
        context.update(_supplier_board(user, org, today))
    return render(request, "supplychain/dashboard.html", context)


def _supplier_board(user, org, today) -> dict:
    invoices = list(selectors.invoice_list(user=user).filter(supplier=org)[:LIST_LIMIT])
    certificates = list(
        selectors.certificate_list(user=user)
        .filter(holder=org, balance__gt=0)
        .exclude(status=CertificateStatus.PAID)[:LIST_LIMIT]
    )
    requests = list(selectors.financing_list(user=user).filter(requester=org)[:LIST_LIMIT])
    asked = {f.invoice_id for f in requests if f.status in (FinancingStatus.REQUESTED, FinancingStatus.APPROVED)}
    programmes = _programmes_for({i.anchor_id for i in invoices} | {c.anchor_id for c in certificates})
    for asset in invoices:  # what it could raise today, unless a funder is already answering a request for it
        financeable = asset.status == InvoiceStatus.CONFIRMED and asset.pk not in asked
        asset.best = _best_today(asset, programmes.get(asset.anchor_id, ()), today) if financeable else None
    for asset in certificates:
        asset.best = (
            _best_today(asset, programmes.get(asset.anchor_id, ()), today) if asset.status == CertificateStatus.ACTIVE else None
        )
    return {
        "my_invoices": invoices,
        "my_certificates": certificates,
        "my_requests": requests,
        "my_limits": list(SupplierLimit.objects.filter(supplier=org).select_related("programme__funder", "programme__anchor")),
    }


def _anchor_board(user, org, today) -> dict:
    owed = selectors.invoice_list(user=user).filter(anchor=org)
    return {
        "queue": list(owed.filter(status__in=[InvoiceStatus.SUBMITTED, InvoiceStatus.DISPUTED])[:LIST_LIMIT]),
        "maturities": list(
            owed.filter(status__in=[InvoiceStatus.CONFIRMED, InvoiceStatus.FINANCED, InvoiceStatus.OVERDUE]).order_by(
                "due_date", "pk"
            )[:LIST_LIMIT]
        ),
        "issued": list(selectors.certificate_list(user=user).filter(anchor=org, root__isnull=True)[:LIST_LIMIT]),
        "anchor_programmes": list(Programme.objects.filter(anchor=org).select_related("funder").order_by("name")),
    }


def _funder_board(user, org, today) -> dict:
    requests = list(
        selectors.financing_list(user=user).filter(funder=org, status__in=[FinancingStatus.REQUESTED, FinancingStatus.APPROVED])
    )
    taken = _encumbered(f.asset_key for f in requests)
    for f in requests:
        f.encumbered = f.asset_key in taken
    return {
        "requests": requests,
        "book": list(
            selectors.financing_list(user=user)
            .filter(funder=org, status__in=list(FINANCING_LIVE))
            .order_by("due_date", "pk")[:LIST_LIMIT]
        ),
        "exposures": list(FunderExposure.objects.filter(funder=org).select_related("debtor")),
        "profile": FunderProfile.objects.filter(organisation=org).first(),
        "funder_programmes": list(Programme.objects.filter(funder=org).select_related("anchor").order_by("name")),
    }


# --- invoices ---------------------------------------------------------------------------------


def _invoice_or_404(request, invoice_id):
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    if invoice is None:
        raise Http404(_("No such invoice."))
    return invoice


@login_required
@require_http_methods(["GET", "POST"])
def invoice_create(request):
    # the form is for those who may register an invoice: not shown to anyone it could only refuse
    org = request.user.organisation
    if org is None or org.kind not in SUPPLIER_KINDS:
        raise Http404(_("Invoices are registered by suppliers."))
    if request.user.member_role not in MANAGER_ROLES:
        raise PermissionDenied(_("Only the organisation's owners and finance members do this."))
    form = InvoiceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invoice = services.invoice_create(
                user=request.user,
                anchor_id=data["anchor"],
                number=data["number"],
                issue_date=data["issue_date"],
                due_date=data["due_date"],
                face_amount=data["face_amount"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            if data.get("document"):
                try:
                    services.document_add(user=request.user, invoice_id=invoice.pk, upload=data["document"])
                except ApplicationError as exc:
                    messages.error(
                        request, _("The invoice is registered, but not its document: %(error)s") % {"error": exc.message}
                    )
            messages.success(request, _("Invoice registered; the buyer is asked to confirm it."))
            return redirect("supplychain:invoice-detail", invoice_id=invoice.pk)
    return render(request, "supplychain/invoice_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


def _invoice_page(request, invoice, *, finance_form=None, status=200):
    user = request.user
    today = business_date()
    is_supplier = user.organisation_id == invoice.supplier_id
    is_anchor = user.organisation_id == invoice.anchor_id
    programmes = _programmes_for([invoice.anchor_id]).get(invoice.anchor_id, [])
    can_finance = is_supplier and invoice.status == InvoiceStatus.CONFIRMED and programmes
    if finance_form is None and can_finance:
        finance_form = FinancingRequestForm(programmes=programmes)
    return render(
        request,
        "supplychain/invoice_detail.html",
        {
            "invoice": invoice,
            "is_supplier": is_supplier,
            "is_anchor": is_anchor,
            "documents": list(invoice.documents.all()),
            "dilutions": list(invoice.dilutions.all()),
            "financings": list(selectors.financing_list(user=user).filter(invoice=invoice)),
            "best": _best_today(invoice, programmes, today) if can_finance else None,
            "finance_form": finance_form if can_finance else None,
            "reason_form": ReasonForm() if is_anchor else None,
            "dilution_form": DilutionForm() if is_anchor else None,
            "document_form": DocumentForm() if is_supplier else None,
        },
        status=status,
    )


@login_required
def invoice_detail(request, invoice_id: int):
    return _invoice_page(request, _invoice_or_404(request, invoice_id))


@login_required
@require_POST
def invoice_answer(request, invoice_id: int, answer: str):
    invoice = _invoice_or_404(request, invoice_id)
    reason = request.POST.get("reason", "")
    calls = {
        "confirm": (lambda: services.invoice_confirm(user=request.user, invoice_id=invoice.pk), _("Invoice confirmed.")),
        "reject": (
            lambda: services.invoice_reject(user=request.user, invoice_id=invoice.pk, reason=reason),
            _("Invoice rejected."),
        ),
        "dispute": (
            lambda: services.invoice_dispute(user=request.user, invoice_id=invoice.pk, reason=reason),
            _("Invoice disputed."),
        ),
    }
    if answer not in calls:
        raise Http404
    call, success = calls[answer]
    flash_service_call(request, call, success)
    return redirect("supplychain:invoice-detail", invoice_id=invoice.pk)


@login_required
@require_POST
def invoice_dilution(request, invoice_id: int):
    invoice = _invoice_or_404(request, invoice_id)
    form = DilutionForm(request.POST)
    if form.is_valid():
        flash_service_call(
            request,
            lambda: services.dilution_add(user=request.user, invoice_id=invoice.pk, **form.cleaned_data),
            _("Dilution entered."),
        )
    else:
        messages.error(request, _("Enter an amount and a reason."))
    return redirect("supplychain:invoice-detail", invoice_id=invoice.pk)


@login_required
@require_POST
def invoice_document(request, invoice_id: int):
    invoice = _invoice_or_404(request, invoice_id)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        flash_service_call(
            request,
            lambda: services.document_add(user=request.user, invoice_id=invoice.pk, upload=form.cleaned_data["document"]),
            _("Document attached."),
        )
    else:
        messages.error(request, _("Choose a file."))
    return redirect("supplychain:invoice-detail", invoice_id=invoice.pk)


def _financing_request_post(request, *, anchor_id: int, asset: dict, page):
    """The financing form of an invoice or a certificate page: one service call, run once per key;
    `page(form)` shows the asset's page again with the form's errors."""
    programmes = _programmes_for([anchor_id]).get(anchor_id, [])
    form = FinancingRequestForm(request.POST, programmes=programmes)
    if form.is_valid():
        data = {"programme": form.cleaned_data["programme"], "amount": form.cleaned_data["amount"]}

        def run():
            financing = services.financing_request(
                user=request.user, programme_id=data["programme"], amount=data["amount"] or None, **asset
            )
            return 201, {"id": financing.pk}

        body = _run_once(request, form, payload=data, run=run)
        if body is not None:
            messages.success(request, _("Financing requested; the funder will answer."))
            return redirect("supplychain:financing-detail", financing_id=body["id"])
    return page(form)


@login_required
@require_POST
def invoice_finance(request, invoice_id: int):
    invoice = _invoice_or_404(request, invoice_id)
    return _financing_request_post(
        request,
        anchor_id=invoice.anchor_id,
        asset={"invoice_id": invoice.pk},
        page=lambda form: _invoice_page(request, invoice, finance_form=form, status=400),
    )


# --- certificates -----------------------------------------------------------------------------


def _certificate_or_404(request, certificate_id):
    certificate = selectors.certificate_get(user=request.user, certificate_id=certificate_id)
    if certificate is None:
        raise Http404(_("No such certificate."))
    return certificate


def _certificate_page(request, certificate, *, split_form=None, finance_form=None, status=200):
    holds = request.user.organisation_id == certificate.holder_id
    movable = (
        holds
        and certificate.status == CertificateStatus.ACTIVE
        and certificate.balance > 0
        and certificate.due_date > business_date()
    )
    programmes = _programmes_for([certificate.anchor_id]).get(certificate.anchor_id, []) if movable else []
    return render(
        request,
        "supplychain/certificate_detail.html",
        {
            "certificate": certificate,
            "chain": selectors.certificate_chain(certificate),
            "children": list(certificate.children.select_related("holder").order_by("pk")),
            "holds": holds,
            "split_form": split_form
            or (SplitForm(holder_id=certificate.holder_id, anchor_id=certificate.anchor_id) if movable else None),
            "finance_form": finance_form or (FinancingRequestForm(programmes=programmes) if programmes else None),
            "best": _best_today(certificate, programmes, business_date()) if programmes else None,
        },
        status=status,
    )


@login_required
def certificate_detail(request, certificate_id: int):
    return _certificate_page(request, _certificate_or_404(request, certificate_id))


@login_required
@require_POST
def certificate_split(request, certificate_id: int):
    certificate = _certificate_or_404(request, certificate_id)
    form = SplitForm(request.POST, holder_id=certificate.holder_id, anchor_id=certificate.anchor_id)
    if form.is_valid():
        data = {"amount": form.cleaned_data["amount"], "to_organisation": form.cleaned_data["to_organisation"]}

        def run():
            child = services.certificate_split(user=request.user, certificate_id=certificate.pk, **data)
            return 201, {"id": child.pk}

        if _run_once(request, form, payload=data, run=run) is not None:
            messages.success(request, _("Transferred."))
            return redirect("supplychain:certificate-detail", certificate_id=certificate.pk)
    return _certificate_page(request, certificate, split_form=form, status=400)


@login_required
@require_POST
def certificate_finance(request, certificate_id: int):
    certificate = _certificate_or_404(request, certificate_id)
    return _financing_request_post(
        request,
        anchor_id=certificate.anchor_id,
        asset={"certificate_id": certificate.pk},
        page=lambda form: _certificate_page(request, certificate, finance_form=form, status=400),
    )


@login_required
@require_http_methods(["GET", "POST"])
def certificate_issue(request):
    org = request.user.organisation
    if org is None or org.kind != OrganisationKind.CORE_ENTERPRISE:
        raise Http404
    confirmed = list(
        selectors.invoice_list(user=request.user).filter(anchor=org, status=InvoiceStatus.CONFIRMED).order_by("due_date")
    )
    form = CertificateIssueForm(request.POST or None, invoices=confirmed)
    if request.method == "POST" and form.is_valid():
        data = {"invoices": form.cleaned_data["invoices"], "amount": form.cleaned_data["amount"]}

        def run():
            certificate = services.certificate_issue(
                user=request.user, invoice_ids=data["invoices"], amount=data["amount"] or None
            )
            return 201, {"id": certificate.pk}

        body = _run_once(request, form, payload=data, run=run)
        if body is not None:
            messages.success(request, _("Certificate issued."))
            return redirect("supplychain:certificate-detail", certificate_id=body["id"])
    return render(request, "supplychain/certificate_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


# --- financings -------------------------------------------------------------------------------


def _financing_or_404(request, financing_id):
    financing = selectors.financing_get(user=request.user, financing_id=financing_id)
    if financing is None:
        raise Http404(_("No such financing."))
    return financing


def _financing_page(request, financing, *, fund_form=None, status=200):
    is_funder = request.user.organisation_id == financing.funder_id
    return render(
        request,
        "supplychain/financing_detail.html",
        {
            "financing": financing,
            "is_funder": is_funder,
            "registry": selectors.registry_lookup(user=request.user, asset=financing.asset_key) or [],
            "encumbered": bool(_encumbered([financing.asset_key])),
            "fund_form": fund_form or (FundForm() if is_funder and financing.status == FinancingStatus.APPROVED else None),
            "reason_form": ReasonForm()
            if is_funder and financing.status in (FinancingStatus.REQUESTED, FinancingStatus.APPROVED)
            else None,
        },
        status=status,
    )


@login_required
def financing_detail(request, financing_id: int):
    return _financing_page(request, _financing_or_404(request, financing_id))


@login_required
@require_POST
def financing_answer(request, financing_id: int, answer: str):
    financing = _financing_or_404(request, financing_id)
    if answer == "approve":
        flash_service_call(
            request, lambda: services.financing_approve(user=request.user, financing_id=financing.pk), _("Approved.")
        )
    elif answer == "reject":
        reason = request.POST.get("reason", "")
        flash_service_call(
            request,
            lambda: services.financing_reject(user=request.user, financing_id=financing.pk, reason=reason),
            _("Rejected."),
        )
    else:
        raise Http404
    return redirect("supplychain:financing-detail", financing_id=financing.pk)


@login_required
@require_POST
def financing_fund(request, financing_id: int):
    financing = _financing_or_404(request, financing_id)
    form = FundForm(request.POST)
    if form.is_valid():

        def run():
            funded = services.financing_fund(user=request.user, financing_id=financing.pk)
            return 200, {"net": str(funded.net_amount)}

        if _run_once(request, form, payload={}, run=run) is not None:
            messages.success(request, _("Funded: the supplier has been paid and the registry updated."))
            return redirect("supplychain:financing-detail", financing_id=financing.pk)
    return _financing_page(request, financing, fund_form=form, status=400)


# --- programmes (operators) -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def programme_create(request):
    if not request.user.is_operator:
        raise Http404
    form = ProgrammeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.programme_create(actor=request.user, funder_id=data.pop("funder"), anchor_id=data.pop("anchor"), **data)
        except ApplicationError as exc:
            raise_if_not_found(exc)
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("Programme set up."))
            return redirect("supplychain:dashboard")
    return render(request, "supplychain/programme_form.html", {"form": form}, status=400 if request.method == "POST" else 200)
