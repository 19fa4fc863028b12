from django.core.management.base import BaseCommand, CommandError

from platform_core.disclosures.models import Snapshot
from platform_core.disclosures.services import chain_problems


class Command(BaseCommand):
    help = "Recompute every disclosure snapshot's hash and chain link; say where a chain breaks."

    def add_arguments(self, parser):
        parser.add_argument("--entity", type=int, help="only this platform entity's chain")

    def handle(self, *args, entity=None, **options):
        problems = chain_problems(entity_id=entity)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the disclosure chain.")
        count = Snapshot.objects.filter(**({"entity_id": entity} if entity else {})).count()
        self.stdout.write(f"OK: {count} snapshot(s), every hash and link verified.")
