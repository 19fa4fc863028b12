import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

from platform_core.demo import DEMO_PASSWORD

#: Each module's seed() adds its demo data and returns (username, role, where) rows; idempotent.
DEMO_MODULES = ["platform_core.demo", "crowdfunding.demo", "p2p.demo", "supplychain.demo", "platform_core.disclosures.demo"]


class Command(BaseCommand):
    help = "Load demo data (idempotent: running it twice duplicates nothing) and print a log-in for every role."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    def handle(self, *args, port, **options):
        logins = []
        for name in DEMO_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            with transaction.atomic():
                logins.extend(module.seed() or [])
        url = f"http://127.0.0.1:{port}/"
        self.stdout.write(
            self.style.SUCCESS(f"\nThe platform is starting at {url}  (API docs: {url}api/docs/, admin: {url}admin/)")
        )
        self.stdout.write(f"Every demo log-in has the password: {DEMO_PASSWORD}\n")
        width = max(len(u) for u, _, _ in logins)
        for username, role, where in logins:
            self.stdout.write(f"  {username.ljust(width)}  {role:<28} {where}")
        self.stdout.write("\nPress Ctrl-C to stop the web server, the Celery worker and beat.\n")
