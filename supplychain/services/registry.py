"""The registry of encumbrances (China: Zhongdeng; US: UCC-1): first to register wins. At most one
active entry per asset, enforced by the partial unique index `one_active_encumbrance_per_asset`;
the Python check before it only gives a friendlier answer sooner."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from platform_core.db import ids_in
from platform_core.errors import ApplicationError

from ..models import Encumbrance, Financing


def asset_is_encumbered(asset: str) -> bool:
    return Encumbrance.objects.filter(asset=asset, released_at__isnull=True).exists()


def encumbrance_register(*, financing: Financing, check: bool = True) -> Encumbrance:
    """Register the funder's interest in the financing's asset; `already_encumbered` (409) if another
    holds it. `check=False` skips the Python look-up (the index still refuses)."""
    if check and asset_is_encumbered(financing.asset_key):
        raise ApplicationError("already_encumbered", _("The registry already shows this asset encumbered."), status=409)
    try:
        with transaction.atomic():
            return Encumbrance.objects.create(asset=financing.asset_key, financing=financing, funder_id=financing.funder_id)
    except IntegrityError:
        raise ApplicationError("already_encumbered", _("The registry already shows this asset encumbered."), status=409) from None


def encumbrances_release(*, financing_ids, now=None) -> int:
    return Encumbrance.objects.filter(ids_in("financing_id", financing_ids), released_at__isnull=True).update(
        released_at=now or timezone.now()
    )
