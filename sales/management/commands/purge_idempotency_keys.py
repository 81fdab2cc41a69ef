"""`manage.py purge_idempotency_keys`: delete Idempotency-Keys past their 24 hours, every store."""

from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from sales.idempotency import idempotency_keys_purge
from stores.models import Store


class Command(BaseCommand):
    help = "Delete expired Idempotency-Keys in every store's schema."

    def handle(self, *args: object, **options: object) -> None:
        total = 0
        for store in Store.objects.order_by("pk"):
            with tenant_context(store):
                total += idempotency_keys_purge()
        self.stdout.write(f"Deleted {total} expired idempotency keys.")
