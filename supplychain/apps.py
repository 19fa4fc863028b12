from django.apps import AppConfig


class SupplychainConfig(AppConfig):
    name = "supplychain"
