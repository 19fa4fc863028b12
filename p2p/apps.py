from django.apps import AppConfig


class P2pConfig(AppConfig):
    name = "p2p"
