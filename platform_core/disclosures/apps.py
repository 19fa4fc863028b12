from django.apps import AppConfig


class DisclosuresConfig(AppConfig):
    name = "platform_core.disclosures"
    label = "disclosures"
    verbose_name = "Disclosures"
