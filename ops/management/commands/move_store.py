"""`manage.py move_store <slug> --to host:port`, `manage.py move_store --rebalance`: move stores
between the worker nodes of a Citus cluster without losing a write (ops/citus.py)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops import citus
from stores.models import Store


class Command(BaseCommand):
    help = (
        "On a Citus cluster with schema-based sharding: move a store's schema to another worker "
        "node (--to host:port), or spread all stores evenly (--rebalance). Writes to the store "
        "being moved wait for its copy (block_writes); nothing acknowledged is lost."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("store", nargs="?", help="The store's slug.")
        parser.add_argument("--to", help="The worker node to move it to, as host:port.")
        parser.add_argument("--rebalance", action="store_true", help="Spread all stores evenly.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not citus.is_citus():
            raise CommandError("The database is not a Citus coordinator's.")
        if options["rebalance"]:
            if options["store"] or options["to"]:
                raise CommandError("--rebalance moves every store: give no store and no --to.")
            citus.rebalance()
            self.stdout.write(self.style.SUCCESS("Stores rebalanced."))
            return
        if not options["store"] or not options["to"]:
            raise CommandError("Give a store's slug and --to host:port, or --rebalance.")
        store = Store.objects.filter(slug=options["store"]).first()
        if store is None:
            raise CommandError(f"No store with the slug {options['store']!r}.")
        try:
            target = citus.Node.parse(options["to"])
            source = citus.store_move(store, to=target)
        except (ValueError, citus.NotOnCitus) as error:
            raise CommandError(str(error)) from error
        if source == target:
            self.stdout.write(f"{store.slug} is on {target} already.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{store.slug} moved from {source} to {target}."))
