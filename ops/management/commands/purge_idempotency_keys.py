"""`manage.py purge_idempotency_keys`: delete Idempotency-Keys past their 24 hours, every store."""

from django.core.management.base import BaseCommand

from sales.tasks import purge_idempotency_keys


class Command(BaseCommand):
    help = "Delete expired Idempotency-Keys in every store's schema (beat also runs it nightly)."

    def handle(self, *args: object, **options: object) -> None:
        deleted = purge_idempotency_keys()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
