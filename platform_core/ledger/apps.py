from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "platform_core.ledger"
    label = "ledger"
    verbose_name = "Ledger and custody"
