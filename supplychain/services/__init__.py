"""Every write of supply-chain finance, by concept (DOMAIN.md section 4). Import from here:
`from supplychain import services; services.financing_fund(...)`."""

from .certificates import certificate_freeze, certificate_issue, certificate_split
from .documents import document_add
from .financing import (
    financing_approve,
    financing_fund,
    financing_quote,
    financing_reject,
    financing_request,
    financings_expire,
    price,
)
from .invoices import dilution_add, invoice_confirm, invoice_create, invoice_dispute, invoice_fingerprint, invoice_reject
from .limits import limits_release, limits_use
from .programmes import funder_risk_assets_declare, programme_create, supplier_limit_set
from .registry import asset_is_encumbered, encumbrance_register, encumbrances_release
from .reminders import maturity_reminders_send
from .settlement import certificate_settle, invoices_settle, maturities_settle, overdue_sweep

__all__ = [
    "asset_is_encumbered",
    "certificate_freeze",
    "certificate_issue",
    "certificate_settle",
    "certificate_split",
    "dilution_add",
    "document_add",
    "encumbrance_register",
    "encumbrances_release",
    "financing_approve",
    "financing_fund",
    "financing_quote",
    "financing_reject",
    "financing_request",
    "financings_expire",
    "funder_risk_assets_declare",
    "invoice_confirm",
    "invoice_create",
    "invoice_dispute",
    "invoice_fingerprint",
    "invoice_reject",
    "invoices_settle",
    "limits_release",
    "limits_use",
    "maturities_settle",
    "maturity_reminders_send",
    "overdue_sweep",
    "price",
    "programme_create",
    "supplier_limit_set",
]
