"""Server-rendered crowdfunding pages. Each view parses input, calls one service (or selector) and
renders the result; every rule lives in crowdfunding/services.py and crowdfunding/selectors.py.

Who sees what: the selectors filter by the user; a campaign, pledge or backers list that is not the
user's to see is a 404, never a 403 that would confirm it exists.
"""

import csv
import datetime
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from platform_core.accounts.models import Role
from platform_core.accounts.services import MANAGER_ROLES
from platform_core.errors import ApplicationError
from platform_core.web.actions import flash_service_call, money_form_done, money_form_run, raise_if_not_found
from platform_core.web.forms import form_add_application_error

from . import selectors, services
from .forms import CampaignCancelForm, CampaignFilterForm, CampaignForm, CampaignUpdatePostForm, PledgeForm, TierFormSet
from .models import Campaign, CampaignKind, CampaignStatus

PAGE_SIZE = 12
BACKERS_PAGE_SIZE = 50


# --- helpers ----------------------------------------------------------------------------------


def _campaign_or_404(request, campaign_id: int) -> Campaign:
    campaign = selectors.campaign_get(user=request.user, campaign_id=campaign_id)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _managed_or_404(request, campaign_id: int) -> Campaign:
    """A campaign of the user's own organisation; anyone else's (even a public one) is a 404."""
    campaign = _campaign_or_404(request, campaign_id)
    if not _manages(request.user, campaign):
        raise Http404("No such campaign.")
    return campaign


def _manages(user, campaign: Campaign) -> bool:
    return user.is_authenticated and user.organisation_id is not None and user.organisation_id == campaign.organisation_id


def _may_see_backers(user, campaign: Campaign) -> bool:
    return _manages(user, campaign) or (user.is_authenticated and (user.is_operator or user.is_regulator))


def _label_categories(campaigns) -> None:
    labels = dict(settings.CROWDFUNDING["CATEGORIES"])
    for campaign in campaigns:
        campaign.category_label = labels.get(campaign.category, campaign.category)


# --- the SME's campaign form (campaign + tiers formset + equity terms) -------------------------


def _campaign_initial(campaign: Campaign) -> dict:
    zone = zoneinfo.ZoneInfo(campaign.time_zone)
    initial = {name: getattr(campaign, name) for name in CampaignForm.CAMPAIGN_FIELDS}
    initial["deadline"] = campaign.deadline.astimezone(zone).replace(tzinfo=None)
    terms = getattr(campaign, "equity_terms", None) if campaign.is_equity else None
    if terms is not None:
        initial.update({name: getattr(terms, name) for name in CampaignForm.EQUITY_FIELDS})
    return initial


def _tiers_initial(campaign: Campaign) -> list[dict]:
    return [
        {
            "title": tier.title,
            "description": tier.description,
            "minimum_amount": tier.minimum_amount,
            "quantity_limit": tier.quantity_limit,
            "estimated_delivery": tier.estimated_delivery.strftime("%Y-%m"),
        }
        for tier in campaign.tiers.all()
    ]


def _add_campaign_error(form: CampaignForm, tiers: TierFormSet, exc: ApplicationError) -> None:
    if exc.field == "tiers":
        tiers.add_non_form_error(exc.message)
    else:
        form_add_application_error(form, exc)


def _campaign_form_page(request, *, form, tiers, campaign=None, status=200):
    return render(request, "crowdfunding/campaign_form.html", {"form": form, "tiers": tiers, "campaign": campaign}, status=status)


def _require_sme(request) -> bool:
    if request.user.role != Role.SME or request.user.organisation_id is None:
        messages.info(request, "Only SMEs raise money with campaigns; sign up your business to start one.")
        return False
    return True


def _require_manager(request) -> None:
    """The pages that only change things (create, edit, cancel, withdraw) are for the
    organisation's owners and finance members: a viewer is refused, not shown a form that can
    only refuse it."""
    if request.user.member_role not in MANAGER_ROLES:
        raise PermissionDenied("Only the organisation's owners and finance members do this.")


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    if not _require_sme(request):
        return redirect("crowdfunding:campaign-list")
    _require_manager(request)
    initial = {"kind": request.GET.get("kind") if request.GET.get("kind") in CampaignKind.values else CampaignKind.REWARD}
    form = CampaignForm(request.POST or None, request.FILES or None, initial=initial)
    tiers = TierFormSet(request.POST or None, prefix="tiers")
    if request.method == "POST":
        form_ok, tiers_ok = form.is_valid(), tiers.is_valid()
        if form_ok and tiers_ok:
            try:
                campaign = services.campaign_create(
                    user=request.user,
                    kind=form.chosen_kind,
                    tiers=tiers.tiers() if form.chosen_kind == CampaignKind.REWARD else None,
                    equity_terms=form.equity_terms(),
                    **form.campaign_fields(),
                )
            except ApplicationError as exc:
                _add_campaign_error(form, tiers, exc)
            else:
                messages.success(request, "Draft saved. This is how the public will see it; submit it for review when ready.")
                return redirect("crowdfunding:campaign-preview", campaign_id=campaign.pk)
        return _campaign_form_page(request, form=form, tiers=tiers, status=400)
    return _campaign_form_page(request, form=form, tiers=tiers)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, campaign_id: int):
    campaign = _managed_or_404(request, campaign_id)
    _require_manager(request)
    if campaign.status != CampaignStatus.DRAFT:
        messages.info(request, f"This campaign is {campaign.get_status_display().lower()}; only a draft can be edited.")
        return redirect("crowdfunding:campaign-detail", campaign_id=campaign.pk)
    form = CampaignForm(request.POST or None, request.FILES or None, initial=_campaign_initial(campaign), kind=campaign.kind)
    tiers = TierFormSet(request.POST or None, prefix="tiers", initial=_tiers_initial(campaign))
    if request.method == "POST":
        form_ok, tiers_ok = form.is_valid(), tiers.is_valid()
        if form_ok and tiers_ok:
            try:
                services.campaign_update(
                    user=request.user,
                    campaign_id=campaign.pk,
                    tiers=tiers.tiers() if campaign.kind == CampaignKind.REWARD else None,
                    equity_terms=form.equity_terms() or ({} if campaign.is_equity else None),
                    **form.campaign_fields(),
                )
            except ApplicationError as exc:
                raise_if_not_found(exc)
                _add_campaign_error(form, tiers, exc)
            else:
                messages.success(request, "Draft saved.")
                return redirect("crowdfunding:campaign-preview", campaign_id=campaign.pk)
        return _campaign_form_page(request, form=form, tiers=tiers, campaign=campaign, status=400)
    return _campaign_form_page(request, form=form, tiers=tiers, campaign=campaign)


@login_required
@require_POST
def campaign_submit(request, campaign_id: int):
    campaign = _managed_or_404(request, campaign_id)
    done = flash_service_call(
        request,
        lambda: services.campaign_submit(user=request.user, campaign_id=campaign.pk),
        "Submitted for review. An operator will approve it or tell you what to change.",
    )
    return redirect("crowdfunding:campaign-detail" if done else "crowdfunding:campaign-preview", campaign_id=campaign.pk)


@login_required
@require_POST
def campaign_redraft(request, campaign_id: int):
    campaign = _managed_or_404(request, campaign_id)
    done = flash_service_call(
        request,
        lambda: services.campaign_redraft(user=request.user, campaign_id=campaign.pk),
        "Back to draft: edit it and submit it again.",
    )
    return redirect("crowdfunding:campaign-edit" if done else "crowdfunding:campaign-detail", campaign_id=campaign.pk)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_cancel(request, campaign_id: int):
    campaign = _managed_or_404(request, campaign_id)
    _require_manager(request)
    form = CampaignCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_cancel(user=request.user, campaign_id=campaign.pk, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            raise_if_not_found(exc)
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Campaign cancelled. Every backer is being refunded.")
            return redirect("crowdfunding:campaign-detail", campaign_id=campaign.pk)
        return render(request, "crowdfunding/campaign_cancel.html", {"campaign": campaign, "form": form}, status=400)
    return render(request, "crowdfunding/campaign_cancel.html", {"campaign": campaign, "form": form})


@login_required
@require_POST
def campaign_update_post(request, campaign_id: int):
    campaign = _managed_or_404(request, campaign_id)
    form = CampaignUpdatePostForm(request.POST, campaign=campaign)
    if form.is_valid():
        try:
            services.campaign_update_post(
                user=request.user,
                campaign_id=campaign.pk,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                backers_only=form.cleaned_data["backers_only"],
                material_change=form.cleaned_data.get("material_change", False),
            )
        except ApplicationError as exc:
            raise_if_not_found(exc)
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Update posted.")
            return redirect("crowdfunding:campaign-detail", campaign_id=campaign.pk)
    return _detail_page(request, campaign, update_form=form, status=400)


# --- public pages -----------------------------------------------------------------------------


def campaign_list(request):
    filter_form = CampaignFilterForm(request.GET or None)
    filters = filter_form.filters()
    campaigns = selectors.campaign_list(user=request.user, **filters)
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    _label_categories(page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "crowdfunding/campaign_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "now": timezone.now(),
            "query": query.urlencode(),
        },
    )


def _detail_page(request, campaign: Campaign, *, pledge_form=None, update_form=None, preview=False, status=200):
    now = timezone.now()
    manages = _manages(request.user, campaign) and not preview
    acts = _manages(request.user, campaign) and request.user.member_role in MANAGER_ROLES  # viewers only look
    open_for_pledges = campaign.status == CampaignStatus.LIVE and campaign.deadline > now
    if pledge_form is None and (preview or (open_for_pledges and request.user.is_authenticated and not manages)):
        pledge_form = PledgeForm(campaign=campaign)
    if update_form is None and manages and acts and campaign.status in (CampaignStatus.LIVE, CampaignStatus.SUSPENDED):
        update_form = CampaignUpdatePostForm(campaign=campaign)
    _label_categories([campaign])
    return render(
        request,
        "crowdfunding/campaign_detail.html",
        {
            "campaign": campaign,
            "tiers": list(campaign.tiers.all()),
            "terms": getattr(campaign, "equity_terms", None) if campaign.is_equity else None,
            "updates": selectors.campaign_updates(user=None if preview else request.user, campaign=campaign),
            "pledge_form": pledge_form,
            "show_pledge_form": pledge_form is not None,
            "update_form": update_form,
            "manages": manages,
            "acts": acts,
            "preview": preview,
            "open_for_pledges": open_for_pledges,
            "now": now,
        },
        status=status,
    )


def campaign_detail(request, campaign_id: int):
    return _detail_page(request, _campaign_or_404(request, campaign_id))


@login_required
def campaign_preview(request, campaign_id: int):
    """The campaign page as the public will see it, for the SME's own campaign (a draft, usually)."""
    return _detail_page(request, _managed_or_404(request, campaign_id), preview=True)


@login_required
@require_POST
def pledge_create(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    form = PledgeForm(request.POST, campaign=campaign)
    if form.is_valid():
        amount, tier_id = form.cleaned_data["amount"], form.cleaned_data.get("tier")

        def run():
            pledge = services.pledge_create(user=request.user, campaign_id=campaign.pk, amount=amount, tier_id=tier_id)
            return 201, {"id": pledge.pk, "amount": str(pledge.amount), "currency": pledge.currency}

        done = money_form_run(request, form, payload={"amount": amount, "tier": tier_id}, run=run)
        if done is not None:
            body, replayed = done
            note = " (this form was already submitted; it was recorded once)" if replayed else ""
            messages.success(
                request, f"Your pledge of {body['amount']} {body['currency']} to {campaign.title} is recorded{note}."
            )
            return money_form_done(reverse("crowdfunding:pledge-list"), form)
    campaign.refresh_from_db()  # counters and tiers as they are now
    return _detail_page(request, campaign, pledge_form=form, status=400)


# --- the investor's pledges -------------------------------------------------------------------


def _pledge_actions(pledge, now) -> tuple[bool, bool]:
    """Which buttons to show, by the services' own rules (they decide again on the click)."""
    campaign = pledge.campaign
    return (
        services.pledge_cancel_refusal(pledge, campaign, now) is None,
        services.pledge_reconfirm_refusal(pledge, campaign, now) is None,
    )


@login_required
def pledge_list(request):
    now = timezone.now()
    page = Paginator(selectors.pledge_list(user=request.user), 25).get_page(request.GET.get("page"))
    rows = [(pledge, *_pledge_actions(pledge, now)) for pledge in page]
    return render(request, "crowdfunding/pledge_list.html", {"page": page, "rows": rows, "now": now})


@login_required
@require_POST
def pledge_cancel(request, pledge_id: int):
    flash_service_call(
        request,
        lambda: services.pledge_cancel(user=request.user, pledge_id=pledge_id),
        "Pledge cancelled; the money is back in your wallet.",
    )
    return redirect("crowdfunding:pledge-list")


@login_required
@require_POST
def pledge_reconfirm(request, pledge_id: int):
    flash_service_call(
        request, lambda: services.pledge_reconfirm(user=request.user, pledge_id=pledge_id), "Commitment reconfirmed."
    )
    return redirect("crowdfunding:pledge-list")


# --- the SME's dashboard and backers ----------------------------------------------------------


@login_required
def campaign_mine(request):
    if not _require_sme(request):
        return redirect("crowdfunding:campaign-list")
    campaigns = selectors.campaign_list(user=request.user, mine=True)
    page = Paginator(campaigns, 25).get_page(request.GET.get("page"))
    _label_categories(page)
    return render(request, "crowdfunding/campaign_mine.html", {"page": page, "now": timezone.now()})


def _backers_or_404(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    if not _may_see_backers(request.user, campaign):
        raise Http404("No such campaign.")
    return campaign, selectors.campaign_backers(user=request.user, campaign=campaign)


@login_required
def campaign_backers(request, campaign_id: int):
    campaign, backers = _backers_or_404(request, campaign_id)
    page = Paginator(backers, BACKERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "crowdfunding/campaign_backers.html", {"campaign": campaign, "page": page})


CSV_COLUMNS = ["pledge_id", "date_utc", "backer", "organisation", "tier", "amount", "currency", "status"]


def _csv_cell(value) -> str:
    """Text that a spreadsheet would run as a formula (=, +, -, @ first) is quoted (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


@login_required
def campaign_backers_csv(request, campaign_id: int):
    campaign, backers = _backers_or_404(request, campaign_id)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for pledge in backers.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    pledge.pk,
                    pledge.created_at.astimezone(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                    _csv_cell(pledge.backer.username),
                    _csv_cell(pledge.backer_organisation.legal_name if pledge.backer_organisation_id else ""),
                    _csv_cell(pledge.tier.title if pledge.tier_id else ""),
                    pledge.amount,
                    pledge.currency,
                    pledge.status,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-backers.csv"'
    return response
